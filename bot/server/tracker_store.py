"""The SQL tracker store, surviving a database that is briefly unreachable.

endpoints: `tracker_store: {type: bot.server.tracker_store.ResilientSQLTrackerStore, dialect: postgresql, ...}`
(deploy/endpoints.prod.yml). Same tables and behaviour as Rasa's `SQL` store, plus:

- the connection pool checks a connection before using it (`pool_pre_ping`), so connections broken
  by a database restart are replaced instead of failing the next requests;
- a read or write that fails because the database is unreachable is retried for a few seconds
  (`KA2_DB_RETRY_SECONDS`, default 3), then fails with one line naming the database; the channel
  answers "service momentanément indisponible" (instead of Rasa's fallback to an empty in-memory
  tracker, which would answer out of context and lose the turn) and the next message works once the
  database is back, without restarting Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Optional, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker

from ka2 import settings

from .errors import ServiceUnavailable

logger = logging.getLogger(__name__)

TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.DisconnectionError, sqlalchemy.exc.InterfaceError)
T = TypeVar("T")


class TrackerStoreUnavailable(ServiceUnavailable):
    """The database cannot be reached (after retries); see ServiceUnavailable for why not an Exception."""


class ResilientSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        # hide_parameters: a failed statement logged by Rasa does not quote the users' messages and slots.
        self.engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.where = url.render_as_string(hide_password=True)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        budget = settings.DB_RETRY_SECONDS.get()
        deadline, delay = time.monotonic() + budget, 0.25
        while True:
            try:
                return await call()
            except TRANSIENT as error:
                if time.monotonic() + delay > deadline:
                    logger.error(f"Tracker store {self.where} unreachable ({what}): the user is told to retry later.")
                    detail = " ".join(str(error.orig if getattr(error, "orig", None) else error).split())[:200]
                    raise TrackerStoreUnavailable(
                        f"tracker store {self.where} unreachable ({what}): {detail}"
                    ) from None
                logger.warning(f"Tracker store {self.where} unreachable ({what}), retrying in {delay:g} s.")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        parent = super()
        return await self._retrying("read", lambda: parent.retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        parent = super()
        return await self._retrying("read", lambda: parent.retrieve_full_tracker(conversation_id))

    async def save(self, tracker: DialogueStateTracker) -> None:
        parent = super()
        await self._retrying("write", lambda: parent.save(tracker))
