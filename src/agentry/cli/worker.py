"""`agentry worker`: the job dispatcher and webhook sender as a process of their own."""

from __future__ import annotations

import contextlib
import signal


async def _main() -> None:
    import asyncio

    from agentry.billing.wiring import start_price_book
    from agentry.config import get_settings
    from agentry.jobs.background import Background, signer_for
    from agentry.kit import tracing
    from agentry.kit.db.engine import create_engine, create_sessionmaker
    from agentry.kit.db.migrate import upgrade_async
    from agentry.kit.logging import get_logger
    from agentry.placement.wiring import build_regional_runtime, start_placement

    log = get_logger("agentry.worker")
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    traced = tracing.configure(settings, "agentry-worker")
    url = settings.effective_database_url
    await upgrade_async(url)
    engine = create_engine(url)
    maker = create_sessionmaker(engine)
    runtime = build_regional_runtime(settings)
    await runtime.start()
    placement = await start_placement(maker, runtime, settings)
    prices, price_refresher = await start_price_book(maker, settings)
    background = Background.start(
        maker, runtime, signer_for(settings), settings, kind="worker", prices=prices
    )
    runtime.state.listeners.append(background.jobs.region_switched)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker_started", owner=background.jobs.owner)
    try:
        await stop.wait()
    finally:
        await placement.stop()
        await background.stop()
        await price_refresher.stop()
        with contextlib.suppress(Exception):
            await runtime.aclose()
        await engine.dispose()
        if traced is not None:
            tracing.shutdown()


def worker() -> None:
    """Run the job dispatcher and the webhook sender until SIGTERM."""
    import asyncio

    from agentry.config import get_settings
    from agentry.kit.lifeline import watch_from_env
    from agentry.kit.logging import configure_logging

    watch_from_env()
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    asyncio.run(_main())
