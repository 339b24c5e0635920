"""End-to-end stage: a real Airflow deployment, driven through its REST API and a headless browser.

``.venv/bin/python -m pytest e2e --e2e-executor LocalExecutor`` (the default) and then
``--e2e-executor CeleryExecutor`` each start one deployment for the session (see ``deployment.py``) and
run the tests marked for that executor. Both need PostgreSQL on 127.0.0.1:5432 (trust authentication,
user ``postgres``); the LocalExecutor stage needs Debian's ``chromium`` and ``chromium-driver``, the
Celery stage Redis on 127.0.0.1:6379 (see ``celery_workers.py``). The run folder each prints keeps the
component logs (and the screenshots). ``python -m e2e.stress`` repeats the breaker's probe race.
"""
