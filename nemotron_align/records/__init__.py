"""Run and sweep records: launch.json, job.json, sweep.json, the run-folder lock and guard."""
