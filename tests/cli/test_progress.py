"""A long job's progress: the known total, rate and time left; plain lines where no terminal is attached (every
PLAIN_EVERY_S or PLAIN_EVERY_SHARE), nothing with --quiet, and an interrupted job says how far it came."""

from __future__ import annotations

import io
import json
import signal

import click
import pytest

from embedkit.cli.progress import PLAIN_EVERY_S, SHOWN_AFTER_S, JobProgress, job_progress
from embedkit.progress import Progress, tell


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def plain(clock, **options):
    stream = io.StringIO()
    return JobProgress("ingest", "images", "run it again", interactive=False, stream=stream, clock=clock,
                       **options), stream


def test_a_plain_line_names_the_total_the_rate_and_the_time_left():
    clock = Clock()
    job, stream = plain(clock)
    job.update(0, 10_000, stage="fashion-mnist")
    clock.now += 10
    job.update(1344, 10_000)
    assert stream.getvalue().splitlines()[-1] == ("ingest: fashion-mnist: 1344/10000 images (13%), 134 images/s, "
                                                  "0:01:04 left, 0:00:10 elapsed")


def test_a_job_that_has_reported_nothing_yet_says_it_is_starting():
    clock = Clock()
    job, stream = plain(clock)
    clock.now += SHOWN_AFTER_S + 1
    job.tick()  # loading an encoder, opening the store: no stage yet
    assert stream.getvalue().splitlines() == [f"ingest: starting: 0:00:0{SHOWN_AFTER_S + 1:.0f} elapsed"]
    job.update(5, None)
    clock.now += PLAIN_EVERY_S
    job.tick()
    assert stream.getvalue().splitlines()[-1].startswith("ingest: 5 images, ")


def test_plain_lines_come_every_ten_seconds_or_five_percent_and_not_for_a_short_job():
    clock = Clock()
    job, stream = plain(clock)
    job.update(0, 1000)
    clock.now += SHOWN_AFTER_S / 2
    job.update(100, 1000)
    assert stream.getvalue() == ""  # a job that ends this soon shows nothing
    clock.now += SHOWN_AFTER_S
    job.update(110, 1000)
    assert len(stream.getvalue().splitlines()) == 1
    clock.now += 1
    job.update(120, 1000)  # 1% and 1 s later: not yet
    job.update(160, 1000)  # 5% later
    assert len(stream.getvalue().splitlines()) == 2
    clock.now += PLAIN_EVERY_S
    job.tick()  # no news, but ten seconds: a line, so that a log shows the job alive
    assert len(stream.getvalue().splitlines()) == 3 and "160/1000 images" in stream.getvalue().splitlines()[-1]
    job.update(1000, 1000)
    assert "1000/1000 images (100%)" in stream.getvalue().splitlines()[-1]


def test_a_stage_of_unknown_length_shows_what_it_does_and_its_time():
    clock = Clock()
    job, stream = plain(clock)
    tell(job, "k-means")
    clock.now += 12
    job.tick()
    assert stream.getvalue() == "ingest: k-means: 0:00:12 elapsed\n"
    assert job.interrupted_line() == "interrupted: ingest stopped during k-means after 0:00:12; run it again"


def test_the_interrupted_line_says_how_far_the_job_came():
    clock = Clock()
    job, _ = plain(clock)
    job(Progress("epoch 2 of 5", 30, 100, "steps"))
    clock.now += 65
    assert job.interrupted_line() == ("interrupted: ingest stopped during epoch 2 of 5 at 30/100 steps (30%) after "
                                      "0:01:05; run it again")


def test_quiet_shows_nothing():
    clock = Clock()
    job, stream = plain(clock, quiet=True)
    job.update(0, 10)
    clock.now += 60
    job.update(5, 10)
    job.tick()
    assert stream.getvalue() == ""


@pytest.fixture
def slow_job():
    """A command whose job reports 3 steps, each after the clock moved 10 s; it can be interrupted at the second."""
    clock = Clock()

    @click.command("slow-job-for-test")
    @click.option("--stop", is_flag=True)
    @click.option("--term", is_flag=True)
    @click.option("--json", "as_json", is_flag=True)
    def command(stop: bool, term: bool, as_json: bool) -> None:
        with job_progress("slow", "steps", resume="nothing was written; run it again") as job:
            job.clock = clock
            job.started = clock.now
            for step in range(3):
                clock.now += 10
                job.update(step + 1, 3, stage="working")
                if stop and step == 1:
                    raise KeyboardInterrupt
                if term and step == 1:
                    signal.raise_signal(signal.SIGTERM)  # as `timeout` sends it
        click.echo(json.dumps({"steps": 3}) if as_json else "done")

    from embedkit.cli import main

    main.add_command(command)
    yield
    main.commands.pop("slow-job-for-test")


def test_a_job_without_a_terminal_logs_plain_lines_on_stderr_and_keeps_json_clean(run, slow_job):
    result = run("slow-job-for-test", "--json")
    assert json.loads(result.stdout) == {"steps": 3}
    lines = result.stderr.splitlines()
    assert lines[-1] == "slow: working: 3/3 steps (100%), 0.1 steps/s, 0:00:00 left, 0:00:30 elapsed"
    assert len(lines) == 3


def test_quiet_turns_the_lines_off(run, slow_job):
    result = run("--quiet", "slow-job-for-test")
    assert (result.stdout, result.stderr) == ("done\n", "")


def test_ctrl_c_in_a_job_prints_how_far_it_came_and_exits_130(run, slow_job):
    result = run("--quiet", "slow-job-for-test", "--stop")
    assert result.exit_code == 130
    assert result.stderr == ("interrupted: slow stopped during working at 2/3 steps (67%) after 0:00:20; nothing was "
                             "written; run it again\n")


def test_sigterm_in_a_job_prints_how_far_it_came_and_exits_143(run, slow_job):
    result = run("--quiet", "slow-job-for-test", "--term")
    assert result.exit_code == 143
    assert result.stderr.startswith("interrupted: slow stopped during working at 2/3 steps (67%) after 0:00:20;")
