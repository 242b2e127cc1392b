"""Scheduled jobs: digests, closing vacancies, pruning; run by `jobs ...` commands and jobs/runner.py."""


def init_app(app):
    from .cli import jobs_cli

    app.cli.add_command(jobs_cli)
