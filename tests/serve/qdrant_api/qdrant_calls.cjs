// The calls tests/serve/qdrant_api/test_js_client.py compares, made by Qdrant's own JavaScript client
// (@qdrant/js-client-rest from npm). Usage: node qdrant_calls.cjs URL KEY INPUT_JSON; prints one JSON object.
const { QdrantClient } = require("@qdrant/js-client-rest");

async function main() {
  const [url, apiKey, given] = process.argv.slice(2);
  const input = JSON.parse(given);
  const { collection, vector, using, ids, filter, positive, negative } = input;
  const client = new QdrantClient({ url, prefix: "qdrant", apiKey, checkCompatibility: false });
  const out = {};
  out.collections = (await client.getCollections()).collections.map((c) => c.name);
  out.exists = (await client.collectionExists(collection)).exists;
  const info = await client.getCollection(collection);
  out.vectors = Object.fromEntries(Object.entries(info.config.params.vectors).map(([n, p]) => [n, [p.size, p.distance]]));
  out.points_count = info.points_count;
  out.retrieve = await client.retrieve(collection, { ids, with_payload: true, with_vector: [using] });
  out.scroll = await client.scroll(collection, { filter, limit: 5, with_payload: true });
  out.count = (await client.count(collection, { filter, exact: true })).count;
  out.facet = (await client.facet(collection, { key: "label" })).hits;
  out.query = (await client.query(collection, { query: vector, using, limit: 5, filter, with_payload: true })).points;
  out.query_by_id = (await client.query(collection, { query: ids[0], using, limit: 4 })).points;
  out.recommend = (await client.query(collection, {
    query: { recommend: { positive, negative, strategy: "best_score" } }, using, limit: 4, with_payload: true,
  })).points;
  out.batch = (await client.queryBatch(collection, { searches: [{ query: vector, using, limit: 3 }] })).map((r) => r.points);
  try {
    await client.getCollection("absent");
    out.absent = null;
  } catch (error) {
    out.absent = { status: error.status, error: error.data && error.data.status && error.data.status.error };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
