"""PostgreSQL restarted under annotators: no acknowledged submission is lost and the running server recovers
by itself (Django's connection health checks), with no restart of its own."""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
from django.db import connection

from bench.annotator_loop import ROOT, free_port, gunicorn_start, wait_ready

pytestmark = [pytest.mark.faults]
ANNOTATORS = 8

SEED = """
import json, sys
from bench.common import django_setup
django_setup(sys.argv[1])
from bench.annotator_loop import campaign_prepare
campaign, tokens = campaign_prepare(items=3000, overlap=2, annotators=int(sys.argv[2]))
print(json.dumps({"campaign": campaign.pk, "tokens": tokens}))
"""


class Annotator(threading.Thread):
    """Loops next -> submit; keeps the assignments whose submit was acknowledged, and when."""

    def __init__(self, port: int, token: str, campaign: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.campaign, self.stop = port, campaign, stop
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.acknowledged: dict[int, float] = {}
        self.failures = 0

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", path, body=json.dumps(body), headers=self.headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, (json.loads(data) if data and response.status < 300 else {})
        finally:
            connection.close()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, task = self.post(f"/api/v1/campaigns/{self.campaign}/next", {})
                if status == 204:
                    return
                if status != 200:
                    self.failures += 1
                    time.sleep(0.1)
                    continue
                key = uuid.uuid4().hex
                for _ in range(50):  # a submit that failed is retried with its key, as the page does
                    status, _ = self.post(f"/api/v1/assignments/{task['assignment']}/submit",
                                          {"choice": "a", "strength": -1, "client_key": key})
                    if status in (200, 201):
                        self.acknowledged[task["assignment"]] = time.monotonic()
                        break
                    self.failures += 1
                    time.sleep(0.1)
            except OSError:
                self.failures += 1
                time.sleep(0.1)


def test_a_postgres_restart_under_annotators_loses_no_acknowledged_submission(private_postgres, private_folder):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass of CI runs it; the SQLite pass checks the embedded default")
    url = private_postgres.url
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    seeded = subprocess.run([sys.executable, "-c", SEED, url, str(ANNOTATORS)], cwd=ROOT, check=True,
                            capture_output=True, text=True, env=env)
    setup = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = free_port()
    server = gunicorn_start(url=url, port=port, workers=2, threads=2, log=private_folder / "gunicorn.log")
    try:
        wait_ready(port, setup["tokens"][0], server)
        stop = threading.Event()
        annotators = [Annotator(port, token, setup["campaign"], stop) for token in setup["tokens"]]
        for annotator in annotators:
            annotator.start()
        time.sleep(3)
        before = sum(len(a.acknowledged) for a in annotators)
        private_postgres.restart()
        back = time.monotonic()
        time.sleep(8)
        stop.set()
        for annotator in annotators:
            annotator.join(60)
        assert server.poll() is None  # the same server all along
    finally:
        server.terminate()
        server.wait(30)

    print(f"acknowledged {sum(len(a.acknowledged) for a in annotators)} ({before} before the restart), "
          f"failed requests {sum(a.failures for a in annotators)}")
    acknowledged = {pk for a in annotators for pk in a.acknowledged}
    after = [at for a in annotators for at in a.acknowledged.values() if at > back]
    assert before > 0 and after, (before, len(after), (private_folder / "gunicorn.log").read_text()[-3000:])
    with psycopg.connect(url) as database:
        stored = [row[0] for row in database.execute("SELECT assignment_id FROM annotate_judgment")]
        over_k = database.execute(
            "SELECT count(*) FROM annotate_item item JOIN annotate_campaign campaign ON campaign.id = item.campaign_id"
            " WHERE (SELECT count(*) FROM annotate_judgment j WHERE j.item_id = item.id) > campaign.overlap"
        ).fetchone()[0]
    assert acknowledged <= set(stored)  # every acknowledged submission survived the restart
    assert len(stored) == len(set(stored))  # and none twice
    assert over_k == 0
