"""`flask --app wsgi forum import FILE.json` and `forum export FILE.json`."""
import json
import os
import sys
import tempfile

import click

from ..cli import forum_cli


@forum_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only check the file; write nothing.")
def import_command(path, dry_run):
    """Import themes, organisations, users and threads from a JSON file.

    A post may list attachments as paths relative to the JSON file
    ("attachments": ["files/advies.pdf"]); they are checked like uploads.

    The whole file is checked first; when anything is wrong, every problem is listed
    with its place in the file and nothing is written. Importing the same file again
    changes nothing (rows are matched on their ref).
    """
    from .importer import ImportInvalid, import_data, load_file

    try:
        result = import_data(load_file(path), dry_run=dry_run, base_dir=os.path.dirname(os.path.abspath(path)))
    except ImportInvalid as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} problem(s) found in {path}; nothing was imported.", err=True)
        sys.exit(1)
    verb = "Would import" if dry_run else "Imported"
    click.echo(f"{verb}: " + ", ".join(f"{n} {kind}" for kind, n in result.created.items()))
    skipped = {kind: n for kind, n in result.skipped.items() if n}
    if skipped:
        click.echo("Already present (skipped): " + ", ".join(f"{n} {kind}" for kind, n in skipped.items()))
    if result.created.get("threads") or result.created.get("posts"):
        click.echo("The search index catches up through the job runner (or run `flask --app wsgi search sync`).")
    click.echo(f"Took {result.seconds:.1f} s.")


@forum_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path):
    """Write all published content to a JSON file in the import format.

    The file holds members' names and e-mail addresses: it is created readable by its
    owner only.
    """
    from .exporter import export_data

    data = export_data()
    folder = os.path.dirname(os.path.abspath(path))
    # Write next to the target and rename: a failed export never leaves half a file.
    fd, tmp = tempfile.mkstemp(prefix=".agora-export-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    click.echo(f"Exported {len(data['themes'])} themes, {len(data['organisations'])} organisations, "
               f"{len(data['users'])} users, {len(data['threads'])} threads, "
               f"{sum(len(t['posts']) for t in data['threads'])} posts to {path}.")
