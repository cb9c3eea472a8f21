// Secrets through @azure/keyvault-secrets: create, read, version, update, list, soft-delete, recover, purge, in
// two vaults at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SecretClient } from "@azure/keyvault-secrets";
import { credential, poll, unique, vaultUrl } from "./support.mjs";

test("two vaults keep their own value under one name", async () => {
  for (const vault of ["billing", "orders"]) {
    const client = new SecretClient(vaultUrl(vault), credential);
    await client.setSecret("db-password", `${vault}-s3cret`);
  }
  for (const vault of ["billing", "orders"]) {
    const client = new SecretClient(vaultUrl(vault), credential);
    assert.equal((await client.getSecret("db-password")).value, `${vault}-s3cret`);
  }
});

test("versions, properties and listing", async () => {
  const client = new SecretClient(vaultUrl("billing"), credential);
  const name = unique("api-key");
  const first = await client.setSecret(name, "v1", { tags: { team: "web" } });
  const second = await client.setSecret(name, "v2");
  assert.notEqual(first.properties.version, second.properties.version);
  assert.equal((await client.getSecret(name)).value, "v2");
  assert.equal((await client.getSecret(name, { version: first.properties.version })).value, "v1");
  assert.deepEqual(first.properties.tags, { team: "web" });
  // (Not contentType: setSecret and updateSecretProperties of @azure/keyvault-secrets 4.10.0 never send it.)
  assert.ok(first.properties.id.startsWith(`${vaultUrl("billing")}/secrets/${name}/`));

  const updated = await client.updateSecretProperties(name, second.properties.version, {
    enabled: false,
    tags: { rotated: "yes" },
  });
  assert.equal(updated.enabled, false);
  assert.deepEqual(updated.tags, { rotated: "yes" });
  await assert.rejects(client.getSecret(name), (error) => error.statusCode === 403 || error.code === "Forbidden");

  const versions = [];
  for await (const properties of client.listPropertiesOfSecretVersions(name)) {
    versions.push(properties.version);
  }
  assert.deepEqual(versions.sort(), [first.properties.version, second.properties.version].sort());
  const names = [];
  for await (const properties of client.listPropertiesOfSecrets()) {
    names.push(properties.name);
  }
  assert.ok(names.includes(name));
  assert.ok(names.includes("db-password"));
});

test("soft delete, recover and purge run through the SDK's pollers", async () => {
  const client = new SecretClient(vaultUrl("orders"), credential);
  const name = unique("doomed");
  await client.setSecret(name, "short-lived");

  const deleting = await client.beginDeleteSecret(name, poll);
  const deleted = await deleting.pollUntilDone();
  assert.equal(deleted.name, name);
  assert.ok(deleted.recoveryId.endsWith(`/deletedsecrets/${name}`));
  assert.equal((await client.getDeletedSecret(name)).name, name);
  await assert.rejects(client.getSecret(name), (error) => error.statusCode === 404);

  const recovering = await client.beginRecoverDeletedSecret(name, poll);
  await recovering.pollUntilDone();
  assert.equal((await client.getSecret(name)).value, "short-lived");

  await (await client.beginDeleteSecret(name, poll)).pollUntilDone();
  await client.purgeDeletedSecret(name);
  await assert.rejects(client.getDeletedSecret(name), (error) => error.statusCode === 404);
});

test("backup and restore round-trip a secret", async () => {
  const client = new SecretClient(vaultUrl("billing"), credential);
  const name = unique("backed-up");
  await client.setSecret(name, "keep-me");
  const blob = await client.backupSecret(name);
  assert.ok(blob instanceof Uint8Array && blob.length > 0);
  await (await client.beginDeleteSecret(name, poll)).pollUntilDone();
  await client.purgeDeletedSecret(name);
  const restored = await client.restoreSecretBackup(blob);
  assert.equal(restored.name, name);
  assert.equal((await client.getSecret(name)).value, "keep-me");
});
