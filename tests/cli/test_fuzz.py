"""Malformed calls of every command end in one `error:` line and a non-zero exit code, never in a traceback,
and invalid options fail before any work (issue 11)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from embedkit.cli import main
from embedkit.cli.group import one_line
from embedkit.cli.options import NumberRange
from embedkit.datasets.download import check_mirror
from embedkit.errors import InvalidOptionError, PreprocessingError
from embedkit.records import VectorRecord
from embedkit.store import open_store

LAST_RESORT = ("this is a bug in embedkit", "the store failed")
"""What the group says of an exception nobody foresaw: no malformed call may need it."""
HUGE = "99999999999999999999999"


def assert_one_error_line(result: Result, exit_code: int | None = None) -> str:
    """The result of a call that fails as it should: no exception but SystemExit, no traceback, a non-zero exit
    code, and its error on one line starting with `error:`. Returns that line."""
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    assert escaped is None, f"{type(escaped).__name__}: {escaped}"
    assert "Traceback" not in result.output, result.output
    assert result.exit_code != 0, result.output
    if exit_code is not None:
        assert result.exit_code == exit_code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr
    assert not any(text in errors[0] for text in LAST_RESORT), errors[0]
    return errors[0]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Two class folders of tiny images, a store with collection `toy` (12 points, labels 0-2, split test),
    and files that are not what a command wants."""
    root = tmp_path_factory.mktemp("fuzz")
    for name in ("cat", "dog"):
        (root / "images" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 16), (i * 60, 100 if name == "cat" else 0, 30)).save(root / "images" / name / f"{i}.png")
    vectors = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    with open_store(root / "store") as store:
        store.ensure_vector("toy", "enc", VectorRecord("enc", 4, "image", weights="w1"))
        store.upsert("toy", "enc", [f"s{i}" for i in range(12)], vectors,
                     [{"label": i % 3, "split": "test"} for i in range(12)])
    (root / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "list.json").write_text("[1, 2]")
    shaped = {"dataset": "d", "encoder": "e", "protocol": "leave-one-out", "query_split": None, "gallery_split": None,
              "dim": 4, "queries": 3, "gallery": 3}
    (root / "untyped.json").write_text(json.dumps({**shaped, "metrics": {"map@5": "high"}, "random_expected": {}}))
    figures = {key: 0.5 for key in ("map@5", "p@10", "ap", "map@r", "recall@10", "p@1")}
    (root / "no-curve.json").write_text(json.dumps({**shaped, "metrics": figures, "random_expected": figures}))
    return {"root": root, "images": root / "images", "image": root / "images" / "cat" / "0.png",
            "store": root / "store"}


def search_args(world: dict[str, Path], *extra: str) -> list[object]:
    return ["search", "-c", "toy", "--id", "s1", "--qdrant", world["store"], *extra]


MALFORMED = [  # (arguments, exit code, what the error line says); {store}, {images}, {image}, {root} filled in
    ("search -c toy --id s1 --qdrant {store} --filter label=--3", 2, "label holds whole numbers"),
    ("search -c toy --id s1 --qdrant {store} --filter label=²", 2, "label holds whole numbers"),
    (f"search -c toy --id s1 --qdrant {{store}} --filter label={HUGE}", 2, "label holds whole numbers"),
    ("search -c toy --id s1 --qdrant {store} --filter label=1,,2", 2, "has an empty value"),
    ("search -c toy --id s1 --qdrant {store} --filter ☃=1", 2, "is not a payload field name"),
    ("search -c toy --id s1 --qdrant {store} --filter a[/]=1", 2, "is not a payload field name"),
    ("search -c toy --id s1 --qdrant {store} --filter label=1 --filter label=2", 2, "is given twice"),
    (f"search -c toy --id s1 --qdrant {{store}} -k {HUGE}", 2, "is not in the range 1<=x<=10000"),
    ("search -c toy --id s1 --qdrant {store} --grid {root}/out.xyz", 2, "is not an image file name"),
    ("search -c toy --id s1 --qdrant {store} --grid {root}", 2, "is a folder"),
    ("search -c toy --id s1 --qdrant {store} --grid {root}/none/grid.png", 2, "does not exist"),
    ("search -c toy --id s1 --qdrant {store} --grid {root}/grid.png -k 500", 2, "at most 100 hits"),
    ("delete -c toy --qdrant {store} --filter label=x --yes", 2, "label holds whole numbers"),
    ("ingest folder:{images} -e mobilenet_v2.random --image-size 32 --batch-size 99999999999999999999 "
     "--qdrant {root}/s", 2, "1<=x<=65536"),
    (f"ingest folder:{{images}} -e mobilenet_v2.random --image-size {HUGE} --qdrant {{root}}/s", 2, "1<=x<=4096"),
    (f"ingest folder:{{images}} -e mobilenet_v2.random --workers {HUGE} --qdrant {{root}}/s", 2, "0<=x<=256"),
    ("ingest folder:{images} -e mobilenet_v2.random -O data_dir=x --qdrant {root}/s", 2, "use the command's --data-dir"),
    ("embed {image} -e mobilenet_v2.random --image-size 99999999999999999999", 2, "1<=x<=4096"),
    ("embed {image} -e mobilenet_v2.random -o {root}", 2, "is a folder"),
    ("embed {image} -e mobilenet_v2.random-99999999999999999999px", 2, "the input size is at most 4096 px"),
    ("datasets show manifest:{root}/passwd", 1, "(it has root:x:0:0:root"),  # as written, no :x: emoji
    ("datasets show folder:{images} -O depth=abc", 2, "depth must be a whole number"),
    ("datasets show folder:{images} -O download=no", 2, "--download/--no-download"),
    (f"datasets show folder:{{images}} --per-class {HUGE}", 2, "1<=x<=100"),
    ("datasets show folder:{images} --grid {root}/sheet.xyz", 2, "is not an image file name"),
    (f"datasets check folder:{{images}} --workers {HUGE}", 2, "0<=x<=256"),
    ("datasets download mnist --mirror 'not a url' --data-dir {root}/data", 2, "is not a URL"),
    ("datasets download mnist --mirror 123 --data-dir {root}/data", 2, "is not a URL"),
    ("datasets download mnist --mirror http://[::1 --data-dir {root}/data", 2, "is not a URL"),
    ("bench report {root}/passwd", 2, "is not JSON"),
    ("bench report {root}/list.json", 2, "is not a bench result"),
    ("bench report {root}/untyped.json", 2, "is not a bench result (unexpected metrics, random_expected)"),
    ("bench report {root}/no-curve.json --plot {root}/plot.png", 2, "no precision-recall curve"),
    ("bench report {root}/no-curve.json --plot {root}/plot.xyz", 2, "end the name with .png"),
    ("bench -d , --out {root}/bench --qdrant {root}/b", 2, "has an empty name"),
    ("bench -d folder:{images} --seed -1 --out {root}/bench --qdrant {root}/b", 2, "0<=x<=4294967295"),
    ("push -c toy --to {root}/copy --qdrant {store} --batch-size 99999999999999999999", 2, "1<=x<=65536"),
    ("stack train a+b -c toy -o {root}/stack.xyz --qdrant {store}", 2, "save the artifact as a .npz file"),
    (f"stack train a+b -c toy -o {{root}}/stack.npz --qdrant {{store}} --seed {HUGE}", 2, "0<=x<=4294967295"),
    (f"ensemble build a+b -c toy --qdrant {{store}} --pca-dim {HUGE}", 2, "1<=x<=8192"),
    ("export -c toy -o {root}/vectors.xyz --qdrant {store}", 2, "name a .parquet, .csv or .npy file"),
    ("export -c toy -o {root}/passwd/vectors.csv --qdrant {store}", 1, "nothing was written: export elsewhere"),
    ("verify -c nope --qdrant {store}", 2, "collection 'nope' does not exist"),
    ("verify -c toy --qdrant {store} --sample 0", 2, "1<=x<=100000"),
    ("verify -c toy --qdrant {store} --tolerance nan", 2, "is not a number"),
    ("verify -c toy --qdrant {store}", 2, "records no dataset"),
    ("collections index nope --qdrant {store}", 2, "collection 'nope' does not exist"),
    ("collections drop nope --qdrant {store} --yes", 2, "collection 'nope' does not exist"),
    ("collections default toy nope --qdrant {store}", 2, "has no vector"),
    ("train folder:{images} -e mobilenet_v2.random --name x --epochs 0", 2, "1<=x<=1000"),
    ("train folder:{images} -e mobilenet_v2.random --name x --objective nope", 2, "'nope' is not one of"),
    ("train folder:{images} -e mobilenet_v2.random --name ../x", 2, "must be lower-case letters"),
    ("train folder:{images} -e mobilenet_v2.random --name x --lr nan", 2, "is not a number"),
    ("train folder:{images} -e mobilenet_v2.random", 2, "Missing option '--name'"),
    ("tune folder:{images} -e mobilenet_v2.random --name x --trials 0", 2, "1<=x<=10000"),
    ("serve --qdrant {store} --port 99999", 2, "1<=x<=65535"),
    ("serve --qdrant {store} --host 'not a host!'", 2, "cannot be used"),
    ("serve --qdrant {store} --results {root}/none", 2, "does not exist"),
    ("serve --qdrant {store} --max-upload-mb nan", 2, "is not a number"),
    ("--bogus", 2, "No such option '--bogus'"),
    ("bogus", 2, "No such command 'bogus'"),
]


@pytest.mark.parametrize(("line", "exit_code", "says"), MALFORMED, ids=[case[0][:60] for case in MALFORMED])
def test_a_malformed_call_is_one_error_line_with_its_exit_code(world, line, exit_code, says):
    args = shlex.split(line.format(**{key: str(value) for key, value in world.items()}))
    error = assert_one_error_line(invoke(*args), exit_code)
    assert says in error


@pytest.mark.parametrize(("filter", "labels"), [("split=test,3", {0, 1, 2}), ("label=-0,2", {0, 2}),
                                               ("split=test", {0, 1, 2})])
def test_a_filter_of_text_and_numbers_matches_by_the_fields_type(world, filter, labels):
    """`split` holds text: `split=test,3` is any of 'test' and '3' (it crashed when 3 was matched as a number)."""
    result = invoke(*search_args(world, "--filter", filter, "--json"))
    assert result.exit_code == 0, result.output
    assert {hit["payload"]["label"] for hit in json.loads(result.stdout)["hits"]} == labels


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


UNBOUNDED = {("ingest", "--limit"), ("bench", "--limit"), ("bench", "--queries"), ("ensemble", "build", "--limit"),
             ("stack", "train", "--limit")}
"""Counts where any number means "up to all of them"; every other integer option has a largest value."""


def integer_options():
    for path, command in commands(main):
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, (click.types.IntParamType)):
                yield path, command, param


def test_every_integer_option_has_a_largest_value_unless_any_count_means_all():
    unbounded = {(*path, param.opts[0]) for path, _, param in integer_options()
                 if not isinstance(param.type, click.IntRange) or param.type.max is None}
    assert unbounded == UNBOUNDED


def assert_refused_before_running(path: tuple[str, ...], command: click.Command, param: click.Parameter,
                                  value: str) -> None:
    """`embedkit PATH OPTION VALUE` with placeholders for the other required parameters (the option comes first,
    and click checks what comes first first) is one error line naming the option, exit code 2."""
    required = []
    for other in command.params:
        if other.required and other is not param:
            required += ["x.npz"] if isinstance(other, click.Argument) else [other.opts[0], "x.npz"]
    error = assert_one_error_line(invoke(*path, param.opts[0], value, *required), 2)
    assert "Invalid value for" in error and any(opt in error for opt in param.opts), error


@pytest.mark.parametrize("value", [HUGE, f"-{HUGE}", "abc", "1.5", ""])
def test_a_bad_number_for_any_integer_option_of_any_command_fails_before_the_command_runs(value):
    checked = 0
    for path, command, param in integer_options():
        bounded = isinstance(param.type, click.IntRange) and param.type.max is not None
        if value == HUGE and not bounded:
            continue
        assert_refused_before_running(path, command, param, value)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "abc", HUGE])
def test_a_bad_number_for_any_float_option_of_any_command_fails_before_the_command_runs(value):
    checked = 0
    for path, command in commands(main):
        for param in command.params:
            if not isinstance(param, click.Option) or not isinstance(param.type, click.types.FloatParamType):
                continue
            assert isinstance(param.type, NumberRange), f"{' '.join(path)} {param.opts[0]} takes any float, NaN too"
            assert_refused_before_running(path, command, param, value)
            checked += 1
    assert checked >= 6


def test_a_group_without_its_subcommand_shows_its_help(world):
    result = invoke("stack")
    assert result.exit_code == 2 and result.stderr.startswith("Usage: ") and "Traceback" not in result.output


def test_a_store_with_damaged_payloads_is_one_error_line_for_search_and_export(world, tmp_path):
    damaged = tmp_path / "store"
    shutil.copytree(world["store"], damaged)
    pages = [page for page in damaged.rglob("page_*.dat") if b'{"label"' in page.read_bytes()]
    if not pages:
        pytest.skip("the embedded store keeps payloads in another layout than this test knows")
    for page in pages:
        data = bytearray(page.read_bytes())
        for match in re.finditer(rb'\{"label"', bytes(data)):
            data[match.start() + 2 : match.start() + 8] = b"\xff\xfe\x00\x01\x02\x03"
        page.write_bytes(bytes(data))
    for args in (["search", "-c", "toy", "--id", "s1"], ["export", "-c", "toy", "-o", tmp_path / "out.csv"]):
        result = invoke(*args, "--qdrant", damaged)
        escaped = result.exception if not isinstance(result.exception, SystemExit) else None
        assert escaped is None and "Traceback" not in result.output and result.exit_code == 1, result.output
        assert result.stderr.startswith("error: the store failed: ") and result.stderr.count("\n") == 1


def test_an_interrupt_while_the_commands_load_is_one_line_and_exit_code_130():
    code = ("import sys\n"
            "class Interrupt:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'embedkit.cli.search':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupt())\n"
            "from embedkit.cli import main\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr) == (130, "interrupted\n")


def test_a_preprocessing_error_on_any_image_stops_before_work_and_on_one_odd_image_skips_it(world, tmp_path):
    from embedkit.datasets import get_dataset
    from embedkit.images import ReadOptions
    from embedkit.ingestion.inputs import EncoderInputs, check_preprocessing

    def preprocess(image):
        raise OverflowError("Python int too large to convert to C long")

    with pytest.raises(PreprocessingError, match=r"preprocessing fails on any image.*OverflowError") as caught:
        check_preprocessing(preprocess)
    assert isinstance(caught.value.__cause__, OverflowError)
    shutil.copytree(world["images"], tmp_path / "images")
    (tmp_path / "images" / "cat" / "broken.png").write_bytes(b"not a png")
    view = get_dataset(f"folder:{tmp_path / 'images'}").view(None)
    ids = [view[i].id for i in range(len(view))]
    readable, broken = ids.index("folder/cat/0.png"), ids.index("folder/cat/broken.png")
    _, pixels, reason = EncoderInputs(view, [readable], preprocess, ReadOptions())[0]
    assert pixels is None and reason.startswith("the encoder's preprocessing failed (OverflowError")
    _, pixels, reason = EncoderInputs(view, [broken], preprocess, ReadOptions())[0]
    assert pixels is None and "broken.png" in reason  # an unreadable file is skipped as before


def test_an_odd_image_the_preprocessing_refuses_is_skipped_and_the_others_stored(world, tmp_path):
    from embedkit.ingestion import ingest
    from tests.support.manifests import CountingEncoder

    class RefusesWidePictures(CountingEncoder):
        def preprocess(self, image):
            if image.width > 3 * image.height:
                raise ValueError("aspect ratio out of range")
            return super().preprocess(image)

    shutil.copytree(world["images"], tmp_path / "images")
    Image.new("RGB", (300, 20), "red").save(tmp_path / "images" / "cat" / "panorama.png")
    report = ingest(f"folder:{tmp_path / 'images'}", RefusesWidePictures(), store=tmp_path / "store", workers=0)
    assert [f.sample_id for f in report.failures] == ["folder/cat/panorama.png"]
    assert "aspect ratio out of range" in report.failures[0].reason and report.stored == report.total - 1


def test_an_error_raised_in_a_dataloader_worker_is_shown_by_its_own_line():
    message = ("Caught PreprocessingError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
               "last):\n  File \"pipeline.py\", line 1, in __getitem__\n    raise PreprocessingError(...)\n"
               "embedkit.errors.PreprocessingError: the encoder's preprocessing failed on x: check --image-size\n")
    assert one_line(message) == "the encoder's preprocessing failed on x: check --image-size"


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PIECES = st.sampled_from(["label", "split", "☃", "=", ",", ",,", "-", "--", "3", "²", "٣", HUGE, "a.b", "[/]", "[0]",
                          " ", "test", "label_name", "é", "\x00", "\\", "'", '"', "0x1", "1e3", "-0"])
ARGUMENT = st.one_of(st.text(max_size=30), st.lists(PIECES, max_size=6).map("".join))
FILTER = st.builds(lambda field, values: f"{field}={','.join(values)}",
                   st.one_of(st.sampled_from(["label", "split", "dataset", "sample_id", "label_name", "x.y"]), ARGUMENT),
                   st.lists(st.one_of(PIECES, st.integers().map(str), st.text(max_size=5)), max_size=4))


def assert_ok_or_one_error_line(result: Result) -> None:
    if result.exit_code == 0 and result.exception is None:
        assert "Traceback" not in result.output
        return
    assert_one_error_line(result)


@FUZZ
@given(value=st.one_of(ARGUMENT, FILTER))
def test_any_filter_is_searched_or_refused_in_one_line(world, value):
    assert_ok_or_one_error_line(invoke(*search_args(world, "--filter", value, "--json")))


@FUZZ
@given(collection=st.one_of(st.just("toy"), ARGUMENT), sample_id=st.one_of(st.just("s1"), ARGUMENT),
       encoder=st.one_of(st.just("enc"), ARGUMENT))
def test_any_collection_sample_and_vector_are_searched_or_refused_in_one_line(world, collection, sample_id, encoder):
    assert_ok_or_one_error_line(invoke("search", "-c", collection, "--id", sample_id, "-e", encoder,
                                       "--qdrant", world["store"], "--json"))


@FUZZ
@given(name=ARGUMENT.filter(lambda name: ":" not in name))  # folder:/ would read the whole disk
def test_any_dataset_name_is_shown_or_refused_in_one_line(world, name):
    assert_ok_or_one_error_line(invoke("datasets", "show", name, "--no-download", "--data-dir", world["root"] / "data",
                                       "--json"))


@FUZZ
@given(value=st.one_of(ARGUMENT, st.integers().map(str)))
def test_any_k_is_searched_or_refused_in_one_line(world, value):
    assert_ok_or_one_error_line(invoke(*search_args(world, "-k", value, "--json")))


@FUZZ
@given(value=ARGUMENT)
def test_any_dataset_option_is_taken_or_refused_in_one_line(world, value):
    assert_ok_or_one_error_line(invoke("datasets", "show", f"folder:{world['images']}", "-O", value, "--json"))


@FUZZ
@given(size=st.one_of(ARGUMENT, st.integers().map(str)), batch=st.one_of(ARGUMENT, st.integers().map(str)))
def test_any_image_size_and_batch_size_are_refused_in_one_line_before_a_model_loads(world, size, batch):
    missing = world["root"] / "missing.png"  # a valid call stops at the missing file, before the model loads
    result = invoke("embed", missing, "-e", "mobilenet_v2.random", "--image-size", size, "--batch-size", batch)
    assert_one_error_line(result)


@FUZZ
@given(mirror=ARGUMENT)
def test_any_mirror_is_a_url_or_an_invalid_option(mirror):
    try:
        assert check_mirror(mirror) == mirror
    except InvalidOptionError as error:
        assert "\n" not in str(error)
