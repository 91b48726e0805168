"""The askcorpus exception tree: every error a user can cause, each message saying what to do.

    AskcorpusError
    ├── QuestionError          bad question, k, or filter (empty, too long, unknown side...)
    ├── CatalogError           catalog.toml is malformed or names what does not exist
    ├── CorpusError            a corpus file cannot be read as text
    ├── BuildLockedError       another build holds the index lock
    ├── ModelError             the embedding model cannot be found or loaded
    ├── ServerBusyError        the server has as many questions waiting as it admits
    └── IndexFolderError       base of everything wrong with an index on disk
        ├── IndexNotFoundError   no index at that path
        ├── IncompleteIndexError half-written or empty folder
        ├── CorruptIndexError    checksum, count or offset mismatch
        ├── IndexVersionError    written by a newer askcorpus
        ├── ModelMismatchError   query model differs from the build model
        └── StaleIndexError      the corpus changed since the build
"""

from __future__ import annotations


class AskcorpusError(Exception):
    """Base of every error askcorpus raises on purpose; the message is meant for the user."""


class QuestionError(AskcorpusError):
    """The question or a search option cannot be used."""


class CatalogError(AskcorpusError):
    """The corpus catalog is malformed or inconsistent with the files."""


class CorpusError(AskcorpusError):
    """A corpus file cannot be loaded."""


class BuildLockedError(AskcorpusError):
    """Another build of the same index is running."""


class ModelError(AskcorpusError):
    """The embedding model cannot be found or loaded."""


class ServerBusyError(AskcorpusError):
    """The web server is answering as many questions as it admits; the client should retry."""


class IndexFolderError(AskcorpusError):
    """Something is wrong with an index folder."""


class IndexNotFoundError(IndexFolderError):
    """There is no index at the given path."""


class IncompleteIndexError(IndexFolderError):
    """The index folder exists but holds no complete generation."""


class CorruptIndexError(IndexFolderError):
    """An artifact of the index does not match its manifest."""


class IndexVersionError(IndexFolderError):
    """The index was written by a newer askcorpus."""


class ModelMismatchError(IndexFolderError):
    """The model asked for differs from the model that built the index."""


class StaleIndexError(IndexFolderError):
    """The corpus changed after the index was built."""
