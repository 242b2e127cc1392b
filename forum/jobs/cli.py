"""`flask --app wsgi jobs digest daily|weekly`, `jobs close-vacancies`, `jobs prune`."""
import click
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Scheduled jobs (the job runner runs them; safe to run by hand).")


@jobs_cli.command("digest")
@click.argument("period", type=click.Choice(["daily", "weekly"]))
def digest(period):
    """Mail the daily or weekly digest to members who chose it (at most once per period)."""
    from .digest import send_digests

    report = send_digests(period)
    click.echo(f"{period} digest {report.key}: {report.sent} sent, {report.empty} with nothing new, "
               f"{report.already} already done, {report.failed} failed.")
    if report.failed:
        raise SystemExit(1)


@jobs_cli.command("close-vacancies")
def close_vacancies_command():
    """Close vacancies whose closing date has passed."""
    from .tasks import close_vacancies

    click.echo(f"{close_vacancies()} vacancies closed.")


@jobs_cli.command("prune")
def prune_command():
    """Remove rate-limit events, digest records and passkey challenges nobody needs any more."""
    from .tasks import prune

    result = prune()
    click.echo(f"Removed {result['rate_limit_events']} rate-limit events, "
               f"{result['digest_records']} old digest records and "
               f"{result['passkey_challenges']} expired passkey challenges.")
