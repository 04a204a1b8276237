"""Scenario 1: a fresh start, from signing up to playing the first video."""

import io

import av
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    UNFINISHED,
    assert_not_reloaded,
    create_project,
    fill_composer,
    generate,
    mark_no_reload,
    sign_up,
    still_png,
    tree_node,
    wait_for_status,
)

pytestmark = pytest.mark.e2e

# Records every state the selected version's status shows, as the page
# changes it (a MutationObserver sees each swap; sampling could miss some).
RECORD_STATUS = """() => {
  window.__e2eStatusLog = [];
  const record = () => {
    const panel = document.querySelector('#version-panel[data-version-number]');
    const badge = panel && panel.querySelector('.status .badge[data-status]');
    if (!badge) return;
    const percent = panel.querySelector('.status .percent');
    const entry = {
      number: +panel.dataset.versionNumber,
      status: badge.dataset.status,
      percent: percent ? parseInt(percent.textContent, 10) : null,
    };
    const log = window.__e2eStatusLog;
    const last = log[log.length - 1];
    if (!last || last.number !== entry.number || last.status !== entry.status
        || last.percent !== entry.percent) log.push(entry);
  };
  new MutationObserver(record).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
  record();
}"""

# Plays the video as a person would check it: its length and shape, a seek,
# a moment of playback. Each wait has its own limit so nothing hangs.
INSPECT_VIDEO = """async (video) => {
  const within = (promise, ms, what) => Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error('timed out waiting for ' + what)), ms))]);
  const once = (name) => new Promise((resolve) =>
    video.addEventListener(name, resolve, {once: true}));
  if (video.readyState < 1) await within(once('loadedmetadata'), 20000, 'metadata');
  const facts = {duration: video.duration, width: video.videoWidth, height: video.videoHeight};
  const seeked = once('seeked');
  video.currentTime = 2;
  await within(seeked, 20000, 'the seek to 2 s');
  facts.afterSeek = video.currentTime;
  await within(video.play(), 20000, 'play()');
  await within(new Promise((resolve) => {
    const check = () => (video.currentTime > facts.afterSeek + 0.5
      ? resolve() : setTimeout(check, 20));
    check();
  }), 20000, 'playback to advance');
  video.pause();
  facts.playedTo = video.currentTime;
  facts.error = video.error ? video.error.code : null;
  return facts;
}"""


def test_fresh_start_still_to_portrait_video(page, screenshot):
    sign_up(page, "fresh")
    project_id = create_project(page, "Launch teaser")

    fill_composer(
        page,
        prompt="Slow push in on the poster, the sun glowing",
        aspect_ratio="9:16",
        duration=5,
        resolution="480p",
        fps=30,
        still=still_png(),
    )
    mark_no_reload(page)
    page.evaluate(RECORD_STATUS)
    v1 = generate(page, project_id)
    assert v1.number == 1

    wait_for_status(page, v1, "ready")
    assert_not_reloaded(page)
    seen = [e for e in page.evaluate("() => window.__e2eStatusLog") if e["number"] == 1]
    statuses = [e["status"] for e in seen]
    assert statuses[-1] == "ready", seen
    before_ready = seen[: statuses.index("ready")]
    assert any(e["status"] in UNFINISHED for e in before_ready), seen
    assert any(e["percent"] is not None and e["percent"] < 100 for e in before_ready), seen
    percents = [e["percent"] for e in before_ready if e["percent"] is not None]
    assert percents == sorted(percents), f"progress went backwards: {seen}"
    expect(tree_node(page, 1).locator(".badge")).to_have_attribute("data-status", "ready")

    video = page.locator(f"#media-{v1.pk} video.player")
    expect(video).to_be_visible()
    expect(page.locator(f"#media-{v1.pk} .media-meta")).to_contain_text("9:16")
    facts = video.evaluate(INSPECT_VIDEO)
    assert facts["error"] is None, facts
    assert facts["duration"] == pytest.approx(5, abs=0.15), facts
    assert facts["width"] < facts["height"], facts
    assert facts["width"] / facts["height"] == pytest.approx(9 / 16, abs=0.01), facts
    assert (facts["width"], facts["height"]) == (480, 852), facts
    assert facts["afterSeek"] == pytest.approx(2, abs=0.1), facts
    assert facts["playedTo"] > facts["afterSeek"], facts

    parameters = page.locator("details.parameters")
    expect(parameters).to_contain_text("9:16")
    expect(parameters).to_contain_text("5 s")
    expect(parameters).to_contain_text("poster.png")
    expect(parameters).to_contain_text("30 fps")
    # The MP4 itself, as downloaded, is 30 frames a second.
    download = page.request.get(f"/projects/{project_id}/v/1/video.mp4")
    assert download.ok
    with av.open(io.BytesIO(download.body())) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 30
        assert sum(1 for _ in container.decode(stream)) == 150
    screenshot(page)
