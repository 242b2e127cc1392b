"""The app a benchmark works on: its instance folder under `folder`, SQLite unless a
PostgreSQL `database_url` is given (shared by pages.py, advice.py and events_data.py)."""


def bench_app(folder, database_url=None):
    from forum import create_app

    config = {"INSTANCE_PATH": str(folder / "instance")}
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    return create_app(config)
