"""``pantau notify``: the notification dispatcher as its own process (scaled-out installs; turn
off the thread in ``pantau run`` with PANTAU_NOTIFY_ENABLED=false then, or keep both: rows are
leased to one dispatcher at a time)."""

from __future__ import annotations

import signal
import threading

import typer

from pantau.cli import app, console, fail, open_database, setup_logging
from pantau.settings import get_settings


@app.command("notify")
def notify_cmd(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit."),
    retry_dead: bool = typer.Option(
        False, "--retry-dead", help="Put every dead-letter message back in the queue first."
    ),
    worker_id: str = typer.Option(
        "", help="Name of this dispatcher in leases and logs (default notify-<host>-<pid>)."
    ),
) -> None:
    """Deliver notifications from the outbox (webhooks, MQTT, e-mail, HTTP) until stopped."""
    from ingestion.notify.dispatcher import Dispatcher
    from ingestion.notify.seed import seed_channels
    from store import outbox

    setup_logging()
    settings = get_settings()
    database = open_database(settings)
    seed_channels(database, settings)
    if retry_dead:
        with database.session() as s:
            n = outbox.retry(s)
        console.print(f"{n} dead-letter message(s) queued again")
    try:
        dispatcher = Dispatcher(settings, database, worker_id=worker_id or None)
    except Exception as exc:
        raise fail(f"cannot start the dispatcher: {exc}") from exc
    if once:
        n = dispatcher.drain(timeout=max(60.0, settings.notify_timeout_s * 10))
        dispatcher.stop()
        console.print(f"{n} message(s) handled: {dispatcher.stats}")
        return
    stopped = threading.Event()

    def _stop(signum, _frame) -> None:  # noqa: ANN001
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    dispatcher.start()
    console.print(f"[bold green]Notification dispatcher {dispatcher.worker_id} running[/]")
    stopped.wait()
    dispatcher.stop()
    console.print(f"stopped: {dispatcher.stats}")
