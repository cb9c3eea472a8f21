// Keys through @azure/keyvault-keys, with the cryptography done by the vault (CryptographyClient on a key id).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { CryptographyClient, KeyClient, KnownKeyOperations } from "@azure/keyvault-keys";
import { credential, unique, vaultUrl } from "./support.mjs";

const keys = new KeyClient(vaultUrl("crypto"), credential);

test("create, read, rotate and list keys", async () => {
  const name = unique("rsa");
  const created = await keys.createRsaKey(name, { keySize: 2048 });
  assert.equal(created.keyType, "RSA");
  assert.equal(created.key.n.length, 256);
  assert.ok(created.keyOperations.includes(KnownKeyOperations.Decrypt));
  const ec = await keys.createEcKey(unique("ec"), { curve: "P-256" });
  assert.equal(ec.key.crv, "P-256");
  const rotated = await keys.rotateKey(name);
  assert.notEqual(rotated.properties.version, created.properties.version);
  assert.equal((await keys.getKey(name)).properties.version, rotated.properties.version);
  const names = [];
  for await (const properties of keys.listPropertiesOfKeys()) {
    names.push(properties.name);
  }
  assert.ok(names.includes(name));
});

test("remote encrypt and decrypt with RSA-OAEP-256", async () => {
  const key = await keys.createRsaKey(unique("enc"), { keySize: 2048 });
  // Built from the key id alone: the client has no key material, so the vault does the work.
  const crypto = new CryptographyClient(key.id, credential);
  const plaintext = Buffer.from("attack at dawn");
  const encrypted = await crypto.encrypt({ algorithm: "RSA-OAEP-256", plaintext });
  assert.equal(encrypted.keyID, key.id);
  assert.equal(encrypted.result.length, 256);
  const decrypted = await crypto.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: encrypted.result });
  assert.equal(Buffer.from(decrypted.result).toString(), "attack at dawn");
});

test("remote wrap and unwrap of a content key", async () => {
  const key = await keys.createRsaKey(unique("wrap"), { keySize: 2048 });
  const crypto = new CryptographyClient(key.id, credential);
  const contentKey = randomBytes(32);
  const wrapped = await crypto.wrapKey("RSA-OAEP", contentKey);
  const unwrapped = await crypto.unwrapKey("RSA-OAEP", wrapped.result);
  assert.deepEqual(Buffer.from(unwrapped.result), contentKey);
});

test("remote sign, verify and a tampered digest", async () => {
  const key = await keys.createRsaKey(unique("sign"), { keySize: 2048 });
  const crypto = new CryptographyClient(key.id, credential);
  const digest = createHash("sha256").update("release 1.2.3").digest();
  const signed = await crypto.sign("RS256", digest);
  assert.equal(signed.result.length, 256);
  assert.equal((await crypto.verify("RS256", digest, signed.result)).result, true);
  const other = createHash("sha256").update("release 1.2.4").digest();
  assert.equal((await crypto.verify("RS256", other, signed.result)).result, false);
  const data = await crypto.signData("RS256", Buffer.from("release 1.2.3"));
  assert.equal((await crypto.verifyData("RS256", Buffer.from("release 1.2.3"), data.result)).result, true);
});

test("an EC key signs with ES256 in the vault", async () => {
  const key = await keys.createEcKey(unique("ecsign"), { curve: "P-256" });
  const crypto = new CryptographyClient(key.id, credential);
  const digest = createHash("sha256").update("payload").digest();
  const signed = await crypto.sign("ES256", digest);
  assert.equal(signed.result.length, 64);
  assert.equal((await crypto.verify("ES256", digest, signed.result)).result, true);
});
