"""The HTTP side of the tuning loop on a real ``qualitygate serve``, real Redis and a real
worker: ``POST /v1/labels`` stores a label behind the ``label`` scope, and ``GET /console``
(scope ``admin``, the key given as HTTP Basic's password as a browser does) in headless
Chromium shows the charts, the numbers, the active version and a what-if; the test saves a
screenshot to ``tests/artifacts/console.png`` for a person to look at."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml

from qualitygate.client import QualityGateClient
from tests.integration.test_labels_stream import grade_items, labels_by_reward, run_cli
from tests.support.api import TEST_KEYS, ServeProcess, bearer
from tests.support.workers import QueueNamespace, WorkerProcess

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def console_server(namespace: QueueNamespace, start_serve: Callable[..., ServeProcess]) -> str:
    return start_serve(namespace).url


def test_labels_over_http(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    console_server: str,
) -> None:
    worker = start_worker()
    client = QualityGateClient(settings=namespace.settings())
    graded = grade_items(client, worker, per_language=2)
    item_id = next(iter(graded))
    body = {"id": item_id, "label": "reject", "reviewer": "<b>kim</b>", "reason": "off-topic"}
    refused = httpx.post(f"{console_server}/v1/labels", json=body)
    assert refused.status_code == 401
    reader = httpx.post(f"{console_server}/v1/labels", json=body, headers=bearer("reader"))
    assert reader.status_code == 403  # a key without the label scope
    headers = bearer("admin")
    stored = httpx.post(f"{console_server}/v1/labels", json=body, headers=headers)
    assert stored.status_code == 201, stored.text
    assert stored.json()["raw_reward"] == graded[item_id][1].raw_reward
    [record] = client.labels()
    assert (record.id, record.label, record.reviewer) == (item_id, "reject", "<b>kim</b>")

    unknown = httpx.post(f"{console_server}/v1/labels", json=body | {"id": "nope"}, headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("id: no result is stored for 'nope'")
    bad = httpx.post(f"{console_server}/v1/labels", json=body | {"label": "meh"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("label: 'meh' is not a label")
    assert len(client.labels()) == 1


@pytest.mark.skipif(not shutil.which("chromedriver"), reason="needs chromium and chromedriver")
def test_the_console_in_a_real_browser(
    namespace: QueueNamespace,
    start_worker: Callable[..., WorkerProcess],
    console_server: str,
    tmp_path: Path,
) -> None:
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    worker = start_worker()
    client = QualityGateClient(settings=namespace.settings())
    graded = grade_items(client, worker, per_language=12)
    for item_id, label in labels_by_reward(graded).items():
        client.label(item_id, label, reviewer="<script>alert(1)</script>")
    levels = tmp_path / "levels.yaml"
    levels.write_text(yaml.safe_dump({"levels": {"excellent": 0.9}}), encoding="utf-8")
    applied = run_cli(namespace, "config", "apply", str(levels), "--who", "<i>ops</i>")
    assert applied.returncode == 0, applied.stderr

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,2200")
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)  # no driver download
    try:
        whatif = yaml.safe_dump({"levels": {"excellent": 0.97, "good": 0.95}})
        without_key = httpx.get(f"{console_server}/console")
        assert without_key.status_code == 401
        assert without_key.headers["www-authenticate"].startswith("Basic")  # a browser asks
        with_user = console_server.replace("://", f"://admin:{TEST_KEYS['admin'][0]}@")
        driver.get(f"{with_user}/console?whatif={quote(whatif)}")
        page = driver.page_source
        active = driver.find_element(By.ID, "active-version").text
        assert active == applied.stdout.strip()
        for code in ("en", "ko"):
            section = driver.find_element(By.ID, f"lang-{code}")
            assert section.get_attribute("data-results") == "12"
            charts = section.find_elements(By.CSS_SELECTOR, "img.chart")
            assert len(charts) == 2
            for chart in charts:  # a real, decoded picture, not a broken image
                assert driver.execute_script("return arguments[0].naturalWidth", chart) > 100
            numbers = section.find_element(By.ID, f"numbers-{code}").text
            agreed = re.search(r"label agreement (\d+) of (\d+)", numbers)
            to_review = re.search(r"labelled, sent to review (\d+)", numbers)
            assert agreed and to_review, numbers
            assert int(agreed.group(2)) + int(to_review.group(1)) == 12  # every label counted
        whatif_table = driver.find_element(By.ID, "whatif-table").text
        assert "all" in whatif_table and "24" in whatif_table
        history = driver.find_element(By.ID, "history").text
        assert "<i>ops</i>" in history and "apply" in history
        assert "<script>alert(1)</script>" not in page  # Redis values are escaped
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "console.png"))
    finally:
        driver.quit()
    assert (ARTIFACTS / "console.png").stat().st_size > 10_000
