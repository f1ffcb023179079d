"""The page in a real headless Chromium: paste a key, chat, edit a dimension (and be refused on a guarded one),
compare personalized and universal answers, click the better one, screenshot.

The screenshot goes to the test's temp dir; ALIGNX_SCREENSHOT=docs/serve-page.png also writes it there.
"""

import os
import shutil
from pathlib import Path

import httpx
import pytest
from conftest import ADMIN, SETUP_HINT, make_direction, serve_in_thread

from alignx.serve import ServeConfig, create_app
from alignx.space import dimension

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=f"chromium and chromedriver not found; {SETUP_HINT}")]



@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is missing; pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def seed_user(base: str) -> tuple[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    user = httpx.post(f"{base}/v1/users", json={"name": "Ann"}, headers=admin).json()
    key = {"Authorization": f"Bearer {user['api_key']}"}
    url = f"{base}/v1/users/{user['user_id']}"
    history = [("How do I fix a flat tire?", "Patch kit, five minutes.", "Let us first consider the history of tires.",
                make_direction(d16=1, d3=1, d60=1)),
               ("Is coffee bad for you?", "In moderation, no.", "It depends on many factors; studies vary widely.",
                make_direction(d16=1, d9=0, d60=1)),
               ("Best way to learn Spanish?", "Daily flashcards.", "Enroll in a long immersive program abroad.",
                make_direction(d16=1, d3=1, d9=0, d75=1))]
    for prompt, chosen, rejected, d in history:
        assert httpx.post(f"{url}/feedback", json={"prompt": prompt, "chosen": chosen, "rejected": rejected,
                                                   "direction": d}, headers=key).status_code == 201
    httpx.post(f"{url}/content", json={"prompt": "Weekend plans?", "comment": "Hiking, then a short nap.",
                                       "direction": make_direction(d16=1, d60=1)}, headers=key)
    httpx.post(f"{url}/demographic", json={"text": "A busy nurse in her thirties who likes short answers."},
               headers=key)
    return user["user_id"], user["api_key"]


def test_page_chat_edit_compare_and_feedback(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from alignx.serve.chat import ChatModel

    config = ServeConfig(db=f"sqlite:///{tmp_path / 'memory.db'}", admin_token=ADMIN, max_tokens=16)
    with serve_in_thread(create_app(config, chat=ChatModel.local("default"))) as base:
        user_id, key = seed_user(base)
        wait = WebDriverWait(browser, 120)
        find = browser.find_element
        status = lambda: find(By.ID, "status").text  # noqa: E731

        browser.get(base + "/")
        find(By.ID, "key").send_keys(key)
        find(By.ID, "connect").click()
        wait.until(lambda _: "Connected as Ann" in status())  # shown once the profile is drawn
        assert find(By.CSS_SELECTOR, '.dim[data-index="16"] .val').text == "1.00"
        assert len(browser.find_elements(By.CSS_SELECTOR, ".dim")) == 90

        # A guarded universal value cannot be set negative: the page shows the server's refusal.
        Select(find(By.ID, "edit-dim")).select_by_value("40")
        Select(find(By.ID, "edit-value")).select_by_value("0")
        find(By.ID, "edit-save").click()
        wait.until(lambda _: "guarded" in status())
        assert status().startswith("422: dimension 40") and find(By.ID, "status").get_attribute("class") == "error"

        # An edit of an ordinary dimension wins over what was inferred.
        Select(find(By.ID, "edit-dim")).select_by_value("9")
        Select(find(By.ID, "edit-value")).select_by_value("1")
        find(By.ID, "edit-save").click()
        wait.until(lambda _: "Dimension 9 set to 1" in status())
        row = find(By.CSS_SELECTOR, '.dim[data-index="9"]')
        assert "override" in row.get_attribute("class") and row.find_element(By.CLASS_NAME, "val").text == "1.00"
        assert dimension(9).positive in find(By.ID, "profile-text").text

        find(By.ID, "chat-input").send_keys("Suggest a quick dinner.")
        find(By.ID, "chat-send").click()
        wait.until(lambda _: browser.find_elements(By.CSS_SELECTOR, '.msg.assistant[data-done="1"]'))
        assert find(By.CSS_SELECTOR, ".msg.assistant").text.strip() != "Assistant:", status()

        find(By.ID, "compare-input").send_keys("How should I spend a free evening?")
        find(By.ID, "compare-go").click()
        wait.until(lambda _: find(By.ID, "prefer-personalized").is_enabled())
        personalized = find(By.ID, "answer-personalized").text
        universal = find(By.ID, "answer-universal").text
        assert personalized and universal and find(By.ID, "mode-name").text == "steered by your choices"
        find(By.ID, "prefer-personalized").click()
        wait.until(lambda _: "feedback #" in status())
        assert "chosen" in find(By.ID, "card-personalized").get_attribute("class")
        wait.until(lambda _: find(By.ID, "counts").text.startswith("4 feedback"))

        shot = tmp_path / "serve-page.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 20_000
        if os.environ.get("ALIGNX_SCREENSHOT"):
            shutil.copyfile(shot, Path(os.environ["ALIGNX_SCREENSHOT"]))

        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "422" not in e["message"]]
        assert not severe, severe
        events = httpx.get(f"{base}/v1/users/{user_id}/events", params={"kind": "feedback"},
                           headers={"Authorization": f"Bearer {key}"}).json()["events"]
        last = events[-1]
        assert last["prompt"] == "How should I spend a free evening?" and last["chosen"].strip() == personalized
        assert last["rejected"].strip() == universal and "direction" not in last
        profile = httpx.get(f"{base}/v1/users/{user_id}/profile", headers={"Authorization": f"Bearer {key}"}).json()
        assert profile["overrides"] == {"9": 1.0} and profile["feedback_count"] == 4


def test_page_marks_inferred_dimensions(browser, tmp_path):
    """With --annotator, a dimension known only from inferred directions is drawn as inferred (no chat model)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from test_serve_annotate import HUMOR, KeywordAnnotator

    config = ServeConfig(db=f"sqlite:///{tmp_path / 'memory.db'}", admin_token=ADMIN, chat=False)
    with serve_in_thread(create_app(config, annotator=KeywordAnnotator())) as base:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        user = httpx.post(f"{base}/v1/users", json={"name": "Ann"}, headers=admin).json()
        key = {"Authorization": f"Bearer {user['api_key']}"}
        url = f"{base}/v1/users/{user['user_id']}"
        httpx.post(f"{url}/feedback", json={"prompt": "Flight tips?", "chosen": "A joke, then water.",
                                            "rejected": "Water."}, headers=key)
        httpx.post(f"{url}/feedback", json={"prompt": "Tire?", "chosen": "Patch kit.", "rejected": "History.",
                                            "direction": make_direction(d16=1)}, headers=key)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda _: httpx.get(f"{url}/profile", headers=key).json()["inferred_count"] == 1)

        browser.get(base + "/")
        browser.find_element(By.ID, "key").send_keys(user["api_key"])
        browser.find_element(By.ID, "connect").click()
        wait.until(lambda _: "Connected as Ann" in browser.find_element(By.ID, "status").text)
        inferred = browser.find_element(By.CSS_SELECTOR, f'.dim[data-index="{HUMOR}"]')
        assert "inferred" in inferred.get_attribute("class").split()
        assert inferred.get_attribute("data-source") == "inferred"
        assert "source: inferred (1 events)" in inferred.get_attribute("title")
        sent = browser.find_element(By.CSS_SELECTOR, '.dim[data-index="16"]')
        assert "inferred" not in sent.get_attribute("class").split() and sent.get_attribute("data-source") == "client"
        assert "(1 inferred)" in browser.find_element(By.ID, "counts").text
