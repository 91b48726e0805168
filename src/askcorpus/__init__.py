"""askcorpus: answers from a document corpus, only as verbatim, cited passages, every side shown."""

from askcorpus.api import Index, __version__, build
from askcorpus.api import open_index as open
from askcorpus.errors import (
    AskcorpusError,
    BuildLockedError,
    CatalogError,
    CorpusError,
    CorruptIndexError,
    IncompleteIndexError,
    IndexFolderError,
    IndexNotFoundError,
    IndexVersionError,
    ModelError,
    ModelMismatchError,
    QuestionError,
    StaleIndexError,
)
from askcorpus.settings import Settings
from askcorpus.types import Answer, Citation, Document, Passage, Reference, SummaryLine

__all__ = [
    "Answer",
    "AskcorpusError",
    "BuildLockedError",
    "CatalogError",
    "Citation",
    "CorpusError",
    "CorruptIndexError",
    "Document",
    "IncompleteIndexError",
    "Index",
    "IndexFolderError",
    "IndexNotFoundError",
    "IndexVersionError",
    "ModelError",
    "ModelMismatchError",
    "Passage",
    "QuestionError",
    "Reference",
    "Settings",
    "StaleIndexError",
    "SummaryLine",
    "__version__",
    "build",
    "open",
]
