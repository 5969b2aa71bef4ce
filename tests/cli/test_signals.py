"""A signal while the command loads (imports take a second or more) ends in one line and the usual exit code,
never in a traceback; the console script goes through the same entry point."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

LOADING = ("import signal, sys, time\n"
           "signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # as at a terminal, even when started in
           # the background (`cmd &` in a script starts with SIGINT ignored, and Python keeps it so)
           "class Slow:\n"  # the commands take long to load: the signal lands while they do
           "    def find_spec(self, name, path=None, target=None):\n"
           "        if name == 'embedkit.cli.search':\n"
           "            print('loading', flush=True); time.sleep(30)\n"
           "sys.meta_path.insert(0, Slow())\n"
           "sys.argv = ['embedkit', 'collections']\n"
           "from embedkit.__main__ import run\n"
           "run()\n")


@pytest.mark.parametrize("sig, exit_code, says", [(signal.SIGTERM, 143, ""), (signal.SIGINT, 130, "interrupted\n")])
def test_a_signal_while_the_commands_load_exits_quietly_with_its_code(sig, exit_code, says):
    process = subprocess.Popen([sys.executable, "-c", LOADING], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline() == "loading\n"
    time.sleep(0.1)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (exit_code, says)


def test_the_console_script_is_the_entry_point_that_handles_signals():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "embedkit"]
    assert script.value == "embedkit.__main__:run"
    result = subprocess.run([sys.executable, "-m", "embedkit", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("embedkit, version ")


def test_importing_embedkit_reads_no_package_metadata_until_the_version_is_asked_for():
    code = ("import sys, embedkit\n"
            "print('importlib.metadata' in sys.modules, embedkit.__version__ == __import__('embedkit._version')"
            "._version.__version__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_sigterm_outside_the_encoding_loop_of_an_ingest_still_exits_143(run):
    from embedkit.cli import main
    from embedkit.cli.signals import terminate_as_interrupt

    @main.command("sleep-for-test")
    def sleeper() -> None:
        with terminate_as_interrupt():
            signal.raise_signal(signal.SIGTERM)  # lands where nothing catches Ctrl-C (an index build)

    try:
        result = run("sleep-for-test")
    finally:
        main.commands.pop("sleep-for-test")
    assert result.exit_code == 143 and result.stderr == "interrupted\n"
