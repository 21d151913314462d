"""Async jobs: queue, lease-based dispatch, reaper, agent callbacks, progress events."""
