"""The exceptions embedkit raises; every message tells the user what to do next."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none): what a one-line message quotes."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class EmbedkitError(Exception):
    """Base of every error embedkit raises on purpose. The CLI shows its message in one line."""

    exit_code = 1


class UnknownNameError(EmbedkitError, KeyError):
    """A registry was asked for a name it does not know."""

    exit_code = 2

    def __init__(self, kind: str, name: str, close_matches: list[str]):
        self.kind = kind
        self.name = name
        self.close_matches = close_matches
        hint = (
            f"did you mean {', '.join(repr(m) for m in close_matches)}?"
            if close_matches
            else f"run `embedkit {kind}s` to list them."
        )
        super().__init__(f"unknown {kind} {name!r}; {hint}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class InvalidOptionError(EmbedkitError, ValueError):
    """An option has a value the component cannot use."""

    exit_code = 2


class WeightsUnavailableError(EmbedkitError):
    """Pretrained weights are neither cached nor downloadable."""


class WeightsMismatchError(EmbedkitError):
    """A checkpoint does not fit the architecture it was loaded into."""


class WeightsChecksumError(WeightsMismatchError):
    """A weights file does not have the SHA-256 its name carries (torch hub's `NAME-<hex>.pth`)."""


class ImageLoadError(EmbedkitError):
    """A file could not be read as an image."""


class PreprocessingError(EmbedkitError):
    """An encoder's preprocessing failed on an image that was read: the encoder's options, not the file."""


class ModalityNotSupportedError(EmbedkitError):
    """An encoder was given a modality (images, text) it does not embed."""

    exit_code = 2


class TextNotSupportedError(ModalityNotSupportedError):
    """Text was given to an encoder that embeds images only."""


class ImagesNotSupportedError(ModalityNotSupportedError):
    """Images were given to an encoder that embeds text only."""


class DatasetUnavailableError(EmbedkitError):
    """A dataset is neither on disk nor downloadable."""


class ChecksumError(EmbedkitError):
    """A downloaded file does not have its published checksum; it has been removed."""


class DatasetFormatError(EmbedkitError):
    """Files on disk are not in the format their dataset publishes."""


class UntrustedFileError(DatasetFormatError):
    """A file that could run code when loaded (a pickle, or types its format never holds): refused, nothing of it
    was run."""


class StoreUnavailableError(EmbedkitError):
    """The vector store cannot be reached or opened."""


class ClusterUnavailableError(EmbedkitError):
    """The Ray cluster named by an address cannot be reached or joined."""


class StoreLockedError(EmbedkitError):
    """An embedded store is already open in another process."""


class SchemaMismatchError(EmbedkitError):
    """A vector name is stored with another encoder or dimension than the one given."""

    exit_code = 2


class StoreReadOnlyError(EmbedkitError):
    """A write was asked of an embedded store this process cannot write (a read-only mount, no permission)."""


class StoreReadError(EmbedkitError):
    """The store raised an error of its own while reading (a damaged file, a server's refusal)."""


class StoreBackendError(StoreReadError):
    """A store backend's primitive failed with an exception of its own library (qdrant-edge's, qdrant-client's, an
    OSError): a damaged file, a server's refusal. The store raises this from it (embedkit/store/backend.py)."""


class StoreWriteError(EmbedkitError):
    """A write to the store failed part-way; what was committed stays, and a re-run completes it."""


class StoreFullError(StoreWriteError):
    """A write was stopped because the disk under the store would be left with less free space than embedkit keeps
    (a full disk does not empty itself: retrying does not help); what was committed stays."""


class OutputWriteError(EmbedkitError):
    """A file a command writes (an export, a report) could not be written: a full disk, no permission. Nothing of
    it is left behind, and a file of that name from before is kept."""


class SampleNotFoundError(EmbedkitError, KeyError):
    """Sample ids were asked for that a collection does not hold (with the vector asked for)."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class MemberVectorsMissingError(EmbedkitError):
    """An ensemble member has no stored vectors in the collection, and they cannot be encoded."""

    exit_code = 2


class UnlabelledDataError(EmbedkitError):
    """A method that learns from labels (stacking) was given samples without labels."""

    exit_code = 2


class ArtifactMismatchError(EmbedkitError):
    """A trained artifact (a stacker, a PCA) was built for other members than those given, or is unreadable."""

    exit_code = 2


class StudyFileError(EmbedkitError):
    """A tuning study's file was not written by Optuna (another SQLite database, or not SQLite at all)."""

    exit_code = 2
