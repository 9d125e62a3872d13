"""The web page at / in a real browser: Debian's chromium, headless, driven through
chromium-driver by Debian's python3-selenium, against a trm-server on loopback with the bundled
checkpoints. It solves a Sudoku and sees intermediate steps before the verified grid, solves a
maze, shows the server's message for a bad puzzle, works by keyboard and at phone width, and
saves screenshots (TRM_SCREENSHOT_DIR) for a person to look at.

Run by ctest (web_page_browser):
  TRM_SERVER_BIN=build/server/trm-server TRM_SOURCE_DIR=. python3 -m pytest tests/web
"""
import os
import re
import sys
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

SOURCE = os.environ.get("TRM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "deploy", "tests"))
import live  # noqa: E402  (trm-server on loopback: free ports, start, wait, stop)

CHROMIUM = os.environ.get("TRM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TRM_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.environ.get("TRM_SCREENSHOT_DIR", os.path.join(tempfile.gettempdir(), "trm-web-shots"))
WAIT = 60  # Seconds for anything the page waits on (the server answers in well under one).

# A hard sudoku (30 givens; /v1/example?difficulty=hard&seed=2) the bundled model answers right
# in 5 ACT steps.
SUDOKU = os.environ.get(
    "TRM_WEB_SUDOKU",
    "235..74........1.5.6.48....71.....5.9...3.6143......7..2.94...1..31..9........2.7")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    s = live.Server(os.environ["TRM_SERVER_BIN"], os.path.join(SOURCE, "checkpoints"), str(log))
    try:
        s.wait_serving()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--force-device-scale-factor=1",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='trm-chromium-')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_window_size(1280, 1000)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


def open_page(browser, server, query=""):
    browser.get(f"http://127.0.0.1:{server.http_port}/{query}")
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    assert not browser.find_element(By.ID, "error").is_displayed(), \
        browser.find_element(By.ID, "error").text


def shot(browser, name, full_page=False):
    """Saves a screenshot; full_page: the whole page at the window's width."""
    path = os.path.join(SHOTS, name)
    size = browser.get_window_size()
    if full_page:
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(size["width"], height + 120)  # Room for the browser's own frame.
        browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(path)
    if full_page:
        browser.set_window_size(size["width"], size["height"])
    print(f"screenshot: {path}")


def choose_model(browser, name):
    Select(browser.find_element(By.ID, "model")).select_by_value(name)


def set_options(browser, **values):
    options = browser.find_element(By.ID, "options")
    if not options.get_attribute("open"):
        options.find_element(By.TAG_NAME, "summary").click()
    for field, value in values.items():
        el = browser.find_element(By.ID, field)
        if el.get_attribute("type") == "checkbox":
            if el.is_selected() != value:
                el.click()
        else:
            el.clear()
            el.send_keys(str(value))


def enter_puzzle(browser, text):
    box = browser.find_element(By.ID, "puzzle-text")
    box.clear()
    box.send_keys(text)


def timeline(browser):
    return [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#timeline button")]


def wait_for_result(browser):
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.ID, "result").is_displayed()
        or d.find_element(By.ID, "error").is_displayed())
    assert not browser.find_element(By.ID, "error").is_displayed(), \
        browser.find_element(By.ID, "error").text


def test_sudoku_streams_steps_then_the_verified_grid(browser, server):
    open_page(browser, server)
    choose_model(browser, "sudoku")
    enter_puzzle(browser, SUDOKU)
    browser.find_element(By.ID, "solve").click()
    # The step list grows as steps are drawn: an intermediate step is on the board before the
    # final one (slow motion is on, so each stays up for a moment).
    WebDriverWait(browser, WAIT).until(lambda d: len(timeline(d)) >= 1)
    first = timeline(browser)[0]
    assert "✓" not in first, f"the first step drawn was already final: {timeline(browser)}"
    wait_for_result(browser)
    steps = timeline(browser)
    assert len(steps) >= 2 and steps[-1].endswith("✓"), steps
    assert all("✓" not in s for s in steps[:-1]), steps
    board = browser.find_element(By.ID, "board")
    assert board.get_attribute("data-verdict") == "verified"
    cells = [c.text for c in board.find_elements(By.CSS_SELECTOR, ".cell")]
    assert len(cells) == 81 and all(c in "123456789" and c for c in cells), cells
    for given, cell in zip(SUDOKU, cells):
        assert given == "." or given == cell
    result = browser.find_element(By.ID, "result").text
    assert "Verified" in result and "Halting" in result, result
    # The sudoku model votes over its views by default: the vote is shown.
    assert re.search(r"Views\s+\d of \d agree", result), result
    # The confidence chart has a point per step shown.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart circle")) == len(steps)
    shot(browser, "sudoku_verified.png", full_page=True)
    # Earlier steps can be looked at again.
    browser.find_elements(By.CSS_SELECTOR, "#timeline button")[1].click()
    assert browser.find_element(By.ID, "step-status").text.startswith("Step 2:")
    assert board.get_attribute("data-verdict") == ""
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "sudoku_step2.png")
    # The step slider reaches every step by keyboard.
    browser.find_element(By.ID, "scrub").send_keys(Keys.HOME)
    assert browser.find_element(By.ID, "step-status").text.startswith("Step 1:")
    browser.find_element(By.ID, "scrub").send_keys(Keys.END)
    assert "final" in browser.find_element(By.ID, "step-status").text


def test_maze_from_generate(browser, server):
    open_page(browser, server, "?seed=3")
    choose_model(browser, "maze")
    Select(browser.find_element(By.ID, "difficulty")).select_by_value("hard")
    browser.find_element(By.ID, "generate").click()
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.ID, "puzzle-text").get_attribute("value").count("\n") >= 8)
    rows = browser.find_element(By.ID, "puzzle-text").get_attribute("value").split("\n")
    assert len(rows) == 9 and "S" in "".join(rows) and "G" in "".join(rows), rows
    set_options(browser, **{"exact-fallback": True})
    browser.find_element(By.ID, "solve").click()
    wait_for_result(browser)
    board = browser.find_element(By.ID, "board")
    assert board.get_attribute("data-verdict") == "verified"
    assert len(board.find_elements(By.CSS_SELECTOR, ".mcell.path")) >= 20  # A hard maze: 21+.
    assert len(board.find_elements(By.CSS_SELECTOR, ".mcell.start")) == 1
    shot(browser, "maze_verified.png", full_page=True)


def test_a_bad_puzzle_shows_the_servers_message(browser, server):
    open_page(browser, server)
    choose_model(browser, "sudoku")
    enter_puzzle(browser, "12x" + "." * 78)
    browser.find_element(By.ID, "solve").click()
    WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    error = browser.find_element(By.ID, "error").text
    assert "INVALID_ARGUMENT" in error and "sudoku: bad character 'x' at position 2" in error, error
    assert browser.find_element(By.ID, "error").get_attribute("role") == "alert"
    browser.execute_script("document.getElementById('error').scrollIntoView({block: 'center'})")
    shot(browser, "bad_puzzle.png")


def test_keyboard_and_labels(browser, server):
    open_page(browser, server)
    choose_model(browser, "sudoku")
    enter_puzzle(browser, "." * 81)
    cells = browser.find_elements(By.CSS_SELECTOR, "#sudoku-grid input")
    assert len(cells) == 81
    cells[0].click()
    browser.switch_to.active_element.send_keys("5")  # Typing a digit moves on to the next cell.
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN, "7")
    text = browser.find_element(By.ID, "puzzle-text").get_attribute("value").replace("\n", "")
    assert text[0] == "5" and text[10] == "7", text
    # Every control has an accessible name.
    unnamed = browser.execute_script("""
      return [...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => e.offsetParent !== null)
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.textContent.trim())
        .map(e => e.id || e.outerHTML.slice(0, 60));""")
    assert unnamed == [], unnamed


def test_phone_width(browser, server):
    browser.set_window_size(390, 844)
    try:
        open_page(browser, server)
        choose_model(browser, "sudoku")
        enter_puzzle(browser, SUDOKU)
        set_options(browser, **{"slow-motion": False})
        browser.find_element(By.ID, "solve").click()
        wait_for_result(browser)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
        browser.execute_script("document.getElementById('trace-heading').scrollIntoView()")
        shot(browser, "phone_sudoku.png")
    finally:
        browser.set_window_size(1280, 1000)
