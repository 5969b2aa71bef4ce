"""What `embedkit ingest` says when it is done: the reason each file was skipped, and a speed only for what it
encoded, in images or texts (issue 29)."""

from __future__ import annotations

from rich.console import Console

from embedkit.cli.ingest import render_report
from embedkit.ingestion.pipeline import IngestReport
from embedkit.ingestion.run import Failure


def rendered(report: IngestReport, unit: str = "images") -> str:
    console = Console(record=True, width=200)
    render_report(report, console, unit)
    return " ".join(console.export_text().split())


def report(stored: int) -> IngestReport:
    failure = Failure("folder/cats/bad.jpg", "/data/cats/bad.jpg", "image file is truncated")
    return IngestReport("c", "v", "folder:/data", None, total=10, already_stored=9 - stored, stored=stored,
                        failures=[failure], seconds=2.0)


def test_a_skipped_file_is_listed_with_the_reason_it_was_skipped():
    assert "skipped folder/cats/bad.jpg (/data/cats/bad.jpg): image file is truncated" in rendered(report(4))


def test_a_run_that_encoded_nothing_gives_no_speed_and_text_is_counted_in_texts():
    again = rendered(report(0))
    assert "nothing new to encode" in again and "/s" not in again
    assert "2.5 texts/s" in rendered(report(4), "texts") and "2.5 images/s" in rendered(report(4))


def test_a_reason_that_names_the_sample_itself_is_not_preceded_by_its_name_again():
    named = IngestReport("c", "v", "folder:/data", None, total=2, already_stored=0, stored=1, seconds=1.0, failures=[
        Failure("folder/a/bad.png", "/d/a/bad.png", "sample 'folder/a/bad.png' (/d/a/bad.png): not an image")])
    assert rendered(named).count("folder/a/bad.png") == 1
