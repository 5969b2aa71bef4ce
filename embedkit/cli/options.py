"""The options several commands share, each set handed to the command as one record."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from embedkit.encoders import get_encoder
from embedkit.encoders.precision import AUTO, PRECISION_OPTIONS
from embedkit.errors import InvalidOptionError

if TYPE_CHECKING:
    from embedkit.encoders import Encoder
    from embedkit.store import Store

F = TypeVar("F", bound=Callable[..., Any])

PRECISIONS: tuple[str, ...] = PRECISION_OPTIONS

MAX_IMAGE_SIZE = 4096
"""The largest --image-size: 18 times the usual 224 px; a batch of 32 such inputs is 6 GB of pixels already."""
IMAGE_SIZE = click.IntRange(1, MAX_IMAGE_SIZE)
BATCH_SIZE = click.IntRange(1, 65_536)
WORKERS = click.IntRange(0, 256)
SEED = click.IntRange(0, 2**32 - 1)
"""Seeds as numpy and torch take them all."""
DIMENSION = click.IntRange(1, 8192)
"""An output dimension (a PCA's, a stacker's): four 2048-d members side by side."""


class NumberRange(click.FloatRange):
    """A click.FloatRange that refuses NaN, which passes every comparison of a bare range."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number; give one in {self._describe_range()}", param, ctx)
        return number


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder a command was asked for, and the options that configure it."""

    name: str | None = None
    weights: str | None = None
    device: str = "auto"
    precision: str = AUTO
    layer: str | None = None
    image_size: int | None = None

    def variant_options(self) -> dict[str, Any]:
        """Weights, layer and image size, those that were given: an encoder need not take options it lacks."""
        given = {"weights": self.weights, "layer": self.layer, "image_size": self.image_size}
        return {key: value for key, value in given.items() if value is not None}

    def options(self) -> dict[str, Any]:
        """Device and precision, with the variant options that were given."""
        return {"device": self.device, "precision": self.precision, **self.variant_options()}

    def build(self) -> Encoder:
        if self.name is None:
            raise InvalidOptionError("no encoder was chosen; pass --encoder NAME (see `embedkit encoders`)")
        model = get_encoder(self.name, **self.options())
        if (model.input_size or 0) > MAX_IMAGE_SIZE:  # a size in the name (NAME-99999px) that --image-size would refuse
            raise InvalidOptionError(f"{model.name} resizes images to {model.input_size} px; the input size is at "
                                     f"most {MAX_IMAGE_SIZE} px")
        return model


@dataclass(frozen=True)
class StoreLocation:
    """Where the store is: an embedded store folder or a server URL, whether to talk gRPC to a server, and the
    server's API key (never shown: not in `repr`, and `shown` is the location with its credentials hidden)."""

    qdrant: str | None = None
    grpc: bool = False
    api_key: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        """The location as it may be printed: a URL's password and query values replaced by ***."""
        from embedkit.store.location import default_store_path
        from embedkit.store.urls import redacted

        return str(default_store_path()) if self.qdrant is None else redacted(self.qdrant)

    def __repr__(self) -> str:
        return f"StoreLocation(qdrant={self.shown!r}, grpc={self.grpc})"

    def open(self, option: str = "--qdrant") -> Store:
        """The opened store; use it in a `with` block, which closes it. `option` is the one that named it: a
        server that cannot be reached through --qdrant may be left out for the embedded store."""
        from embedkit.errors import StoreUnavailableError
        from embedkit.store import open_store

        try:
            return open_store(self.qdrant, grpc=self.grpc, api_key=self.api_key or None)
        except StoreUnavailableError as error:
            if option != "--qdrant" or self.qdrant is None:
                raise
            raise StoreUnavailableError(f"{error}; or leave out --qdrant (and $EMBEDKIT_QDRANT) to use the embedded "
                                        f"store") from error


def record_options(record: type, parameter: str, options: list[Callable[[F], F]],
                   renamed: dict[str, str] | None = None) -> Callable[[F], F]:
    """A decorator that adds `options` to a command and hands it their values as one `record` named
    `parameter`. Each option fills the record's field of its own name; `renamed` maps a field to another."""
    sources = {(renamed or {}).get(field.name, field.name): field.name for field in dataclasses.fields(record)}

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {field: kwargs.pop(name) for name, field in sources.items() if name in kwargs}
            return function(*args, **kwargs, **{parameter: record(**values)})

        for option in reversed(options):
            command = option(command)
        return command  # type: ignore[return-value]

    return decorate


ENCODER_HELPS: dict[str, str | None] = {
    "encoder": "Encoder name or alias (see `embedkit encoders`).",
    "weights": "Pretrained weights by default, or a checkpoint PATH (random weights: name the encoder NAME.random).",
    "device": "auto, cpu, cuda or cuda:N.",
    "precision": "auto: bf16 where the GPU or CPU computes it natively, else fp16 on a GPU and fp32 on a CPU.",
    "layer": "Feature layer, for encoders that offer several (vgg16: fc2).",
    "image_size": "Input size in pixels instead of the weights' own (e.g. 32 for CIFAR).",
}


def encoder_options(function: F | None = None, *, with_name: bool = True, required: bool = True,
                    helps: Mapping[str, str | None] | None = None) -> Any:
    """--encoder and the options that configure it, handed to the command as `encoder: EncoderChoice`.

    Used bare (`@encoder_options`) --encoder is required; `required=False` makes it optional, and
    `with_name=False` leaves it out, for a command that names its encoders another way. `helps`
    replaces help texts, by parameter name.
    """
    texts = {**ENCODER_HELPS, **(helps or {})}
    decorate = record_options(EncoderChoice, "encoder", [
        *([click.option("--encoder", "-e", required=required, default=None, help=texts["encoder"])]
          if with_name else []),
        click.option("--weights", default=None, help=texts["weights"]),
        click.option("--device", default="auto", show_default=True, help=texts["device"]),
        click.option("--precision", type=click.Choice(PRECISIONS), default=AUTO, show_default=True,
                     help=texts["precision"]),
        click.option("--layer", default=None, help=texts["layer"]),
        click.option("--image-size", type=IMAGE_SIZE, default=None, help=texts["image_size"]),
    ], renamed={"name": "encoder"})
    return decorate if function is None else decorate(function)


STORE_OPTIONS: list[Callable[[F], F]] = [
    click.option("--qdrant", default=None, envvar="EMBEDKIT_QDRANT",
                 help="Embedded store folder (default: embedkit's data dir) or a server http(s)://HOST:PORT."),
    click.option("--grpc", is_flag=True, envvar="EMBEDKIT_QDRANT_GRPC",
                 help="Talk gRPC to a Qdrant server instead of REST."),
    click.option("--api-key", metavar="KEY", default=None, envvar="QDRANT_API_KEY",
                 help="API key of the Qdrant server (default: $QDRANT_API_KEY; never printed)."),
]

store_options: Callable[[F], F] = record_options(StoreLocation, "store", STORE_OPTIONS)
"""--qdrant, --grpc and --api-key, handed to the command as `store: StoreLocation`."""

data_dir_option: Callable[[F], F] = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder datasets are kept in and downloaded to (default: $EMBEDKIT_DATA or ~/.cache/embedkit/datasets).",
)

dataset_options = click.option(
    "--option", "-O", "options", multiple=True, metavar="KEY=VALUE",
    help="A dataset option, e.g. -O background=true (caltech101), -O depth=2 (folder:), -O seed=3 (caltech101-20); "
         "repeatable.",
)


COMMAND_OPTIONS = {"data_dir": "--data-dir", "download": "--download/--no-download", "progress": None}
"""Dataset options that commands give themselves, never as -O KEY=VALUE."""


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """KEY=VALUE pairs, with values read as int, bool or str."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidOptionError(f"dataset option {pair!r} is not KEY=VALUE; e.g. -O depth=2")
        if key in COMMAND_OPTIONS:
            instead = COMMAND_OPTIONS[key]
            raise InvalidOptionError(f"{key} is not a dataset option to give with -O"
                                     + (f"; use the command's {instead} where it has one" if instead else ""))
        if value.lower() in ("true", "yes", "false", "no"):
            parsed[key] = value.lower() in ("true", "yes")
        else:
            try:
                parsed[key] = int(value)
            except ValueError:
                parsed[key] = value
    return parsed


def reading_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--background and --full-decode: how image files become pixels (recorded with the vectors they make)."""
    command = click.option("--full-decode", is_flag=True, help="Decode JPEGs at full size, not at the smallest "
                           "1/2, 1/4, 1/8 scale that covers the input size.")(command)
    return click.option("--background", default="white", show_default=True,
                        help="Colour under transparent pixels (a name or #RRGGBB).")(command)


def image_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A callback for an option that names an image file to write: checked before any work is done."""
    if value is None:
        return None
    if value.is_dir():
        raise click.BadParameter(f"{value} is a folder; name a file in it, e.g. {value / 'grid.png'}")
    if value.suffix.lower() not in IMAGE_SUFFIXES:
        raise click.BadParameter(f"{value.name!r} is not an image file name; end it with .png (or "
                                 f"{', '.join(IMAGE_SUFFIXES[1:])})")
    if not value.parent.is_dir():
        raise click.BadParameter(f"folder {value.parent} does not exist; create it first")
    return value


class DeprecatedSpelling(click.Option):
    """An old spelling of an option, hidden from --help: it fills the same parameter as the new one and says on
    stderr, when given, which spelling to use instead (the one option grammar of issue 29)."""

    def __init__(self, old: str, target: str, *, instead: str, note: str = "", **kwargs: Any):
        # a name of its own, so that the parser tells the old spelling from the new one
        super().__init__([old, f"{target}__{old.strip('-').replace('-', '_')}"], hidden=True, expose_value=False,
                         **kwargs)
        self.target, self.instead, self.note = target, instead, note

    def handle_parse_result(self, ctx: click.Context, opts: Mapping[str, Any], args: list[str]) -> Any:
        value, args = super().handle_parse_result(ctx, opts, args)
        if self.name in opts and not ctx.resilient_parsing:
            instead = f"use {self.instead}" if self.instead else "leave it out"
            click.echo(f"note: {self.opts[0]} is deprecated; {instead}" + (f" ({self.note})" if self.note else ""),
                       err=True)
            ctx.params[self.target] = value  # the new option, not given, then leaves it as it is
            ctx.set_parameter_source(self.target, click.core.ParameterSource.COMMANDLINE)
        return value, args


def deprecated_spelling(old: str, name: str, instead: str, note: str = "", **kwargs: Any) -> Callable[[F], F]:
    """A hidden option `old` that fills parameter `name` when given, as `instead` does ("": the old option may
    simply be left out). `kwargs`: the new option's type and callback, so that the old spelling is checked alike."""
    def decorate(function: F) -> F:
        option = DeprecatedSpelling(old, name, instead=instead, note=note, **kwargs)
        function.__click_params__ = [*getattr(function, "__click_params__", []), option]  # type: ignore[attr-defined]
        return function
    return decorate


def out_file_option(callback: Callable[..., Any] | None = None, help: str = "The file to write.",
                    old: str | None = None, **kwargs: Any) -> Callable[[F], F]:
    """-o/--out FILE (and the old spelling `old`, hidden, e.g. --output)."""
    def decorate(function: F) -> F:
        function = click.option("-o", "--out", "out", type=click.Path(path_type=Path), callback=callback,
                                help=help, **kwargs)(function)
        if old is not None:
            function = deprecated_spelling(old, "out", "-o/--out", type=click.Path(path_type=Path),
                                           callback=callback)(function)
        return function
    return decorate


def out_dir_option(default: Path | None = None, help: str = "The folder to write into.",
                   name: str = "out_dir") -> Callable[[F], F]:
    """--out-dir FOLDER, and --out, its old spelling, hidden (a folder is --out-dir: -o/--out is always a file)."""
    def decorate(function: F) -> F:
        folder = click.Path(file_okay=False, path_type=Path)
        function = click.option("--out-dir", name, type=folder, default=default, show_default=default is not None,
                                help=help)(function)
        return deprecated_spelling("--out", name, "--out-dir", "--out names a file in every command",
                                   type=folder)(function)
    return decorate


def sample_option(help: str = "Only a seeded random N of the points (--seed picks them).") -> Callable[[F], F]:
    """--sample N: a random subset, where --limit N is always the first N."""
    return click.option("--sample", type=click.IntRange(1, 100_000_000), default=None, help=help)


def required_out(out: Path | None) -> Path:
    """-o/--out where a command needs it (its old spelling may have given it, so click cannot require it)."""
    if out is None:
        raise click.UsageError("Missing option '-o' / '--out': the file to write")
    return out


def first_or_sample(limit: int | None, sample: int | None) -> None:
    """Refuse --limit with --sample: one takes the first N, the other a random N."""
    if limit is not None and sample is not None:
        raise click.UsageError("--limit takes the first N and --sample a random N: give one of them")
