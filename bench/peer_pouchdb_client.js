// The peer's side of bench/peer_pouchdb.py: PouchDB (LevelDB on disk) replicating to and from pouchdb-server.
//
//   node peer_pouchdb_client.js <server-url> <records> <scratch-dir> <note>
//
// Run from the scratch folder the benchmark installed PouchDB into (never the project's node_modules).
// Writes N item-result documents into a local PouchDB (not timed), replicates them to the server (push),
// then replicates the server's database into a fresh local PouchDB (initial pull). Prints one JSON line.
"use strict";

const crypto = require("node:crypto");
const path = require("node:path");
const PouchDB = require("pouchdb");

async function main() {
  const [serverUrl, recordsArg, scratch, note] = process.argv.slice(2);
  const records = Number(recordsArg);
  const remoteName = `${serverUrl}/item_results_${records}_${Date.now()}`;
  const phone = new PouchDB(path.join(scratch, `phone_${records}`));
  const inspector = crypto.randomUUID();
  const now = new Date().toISOString();
  let inspection = crypto.randomUUID();
  let bytes = 0;
  for (let start = 0; start < records; start += 1000) {
    const docs = [];
    for (let n = start; n < Math.min(records, start + 1000); n++) {
      if (n % 100 === 0) inspection = crypto.randomUUID();
      const doc = {
        _id: crypto.randomUUID(), type: "item_result", inspection_id: inspection, item_id: crypto.randomUUID(),
        outcome: "pass", note, version: 1, updated_by: inspector, updated_at: now,
      };
      bytes += Buffer.byteLength(JSON.stringify(doc));
      docs.push(doc);
    }
    await phone.bulkDocs(docs);
  }

  const remote = new PouchDB(remoteName);
  let started = process.hrtime.bigint();
  const pushed = await phone.replicate.to(remote);
  const pushSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const onServer = (await remote.info()).doc_count;

  const fresh = new PouchDB(path.join(scratch, `fresh_${records}`));
  started = process.hrtime.bigint();
  const pulled = await PouchDB.replicate(remote, fresh);
  const pullSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const onFresh = (await fresh.info()).doc_count;

  process.stdout.write(JSON.stringify({
    records, doc_bytes: bytes / records, push_s: pushSeconds, pull_s: pullSeconds,
    pushed: pushed.docs_written, pulled: pulled.docs_written, on_server: onServer, on_fresh: onFresh,
    pouchdb_version: PouchDB.version,
  }) + "\n");
  await Promise.all([phone.destroy(), fresh.destroy()]);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
