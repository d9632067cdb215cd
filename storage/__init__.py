"""Storage: the schema, migrations and data access shared by every stage.

Knows nothing of Scrapy, spaCy or torch: the crawler writes documents through
it and the NLP stages read documents and write mentions, descriptors and
vectors through it.
"""

from linernotes.storage.db import StorageError, Store, open_store, resolve_url

__all__ = ["StorageError", "Store", "open_store", "resolve_url"]
