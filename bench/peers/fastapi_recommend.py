"""Serving peer for `npm run bench -- serving-peers`: the classic Python stack for this
architecture, a minimal FastAPI + uvicorn endpoint that reads the user's vector from Redis and
searches Qdrant with the same filters the API applies. Benchmark peer code only, never part of
the product; it reads the keys and the collection the product's batch writes (docs/stores.md).

    uvicorn fastapi_recommend:app --port 8100 --workers 1 --no-access-log

Environment: REDIS_URL, REDIS_KEY_PREFIX (recsys:), QDRANT_URL, QDRANT_COLLECTION (items).
"""

import os

import numpy as np
import redis.asyncio as aioredis
from fastapi import FastAPI, HTTPException
from qdrant_client import AsyncQdrantClient, models

PREFIX = os.environ.get("REDIS_KEY_PREFIX", "recsys:")
COLLECTION = os.environ.get("QDRANT_COLLECTION", "items")
HISTORY_LIMIT = 50

redis = aioredis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
qdrant = AsyncQdrantClient(url=os.environ.get("QDRANT_URL", "http://127.0.0.1:6333"))
app = FastAPI()


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


@app.get("/recommend/{user_idx}")
async def recommend(
    user_idx: int,
    k: int = 10,
    product_group: str | None = None,
    exclude_types: str | None = None,
    exclude_ids: str | None = None,
):
    active = await redis.get(f"{PREFIX}{{m}}:active")
    if active is None:
        raise HTTPException(503, "no active model version")
    version = active.decode()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(f"{PREFIX}{{u:{user_idx}}}:vec:{version}")
        pipe.lrange(f"{PREFIX}{{u:{user_idx}}}:hist", 0, HISTORY_LIMIT - 1)
        raw_vector, history = await pipe.execute()
    if raw_vector is None:
        raise HTTPException(404, f"user {user_idx} has no vector in {version}")
    vector = np.frombuffer(raw_vector, dtype="<f4").tolist()

    # The API's default: purchased items and the caller's exclusions are left out.
    excluded = {int(entry.split(b"|", 1)[0]) for entry in history}
    excluded.update(int(i) for i in _split(exclude_ids))
    must = []
    must_not = []
    if product_group:
        must.append(models.FieldCondition(key="product_group_name", match=models.MatchAny(any=_split(product_group))))
    if exclude_types:
        must_not.append(models.FieldCondition(key="product_type_name", match=models.MatchAny(any=_split(exclude_types))))
    if excluded:
        must_not.append(models.HasIdCondition(has_id=sorted(excluded)))

    result = await qdrant.query_points(
        COLLECTION,
        query=vector,
        limit=k,
        query_filter=models.Filter(must=must or None, must_not=must_not or None),
        # The same search settings as the API's defaults: HNSW with ef 512, a scan (exact) under
        # an item-field filter.
        search_params=models.SearchParams(exact=True) if must or exclude_types else models.SearchParams(hnsw_ef=max(512, k)),
        with_payload=True,
    )
    return {
        "user_idx": user_idx,
        "version": version,
        "items": [{"item_idx": int(p.id), "score": p.score, "metadata": p.payload} for p in result.points],
    }
