"""The Consonance connector: client (``client``), record mapping (``mapping``), ONIX and royalty
readers (``onix``, ``royalties``). What uses them lives in ``integration.catalogue``."""
