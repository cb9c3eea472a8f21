// @azure/identity's DefaultAzureCredential, finding the managed identity through IDENTITY_ENDPOINT and
// IDENTITY_HEADER, gets its tokens from the emulator.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { emulatorUrl } from "./support.mjs";

function claims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

test("DefaultAzureCredential takes the managed identity from the environment", async () => {
  const token = await new DefaultAzureCredential().getToken(`${emulatorUrl}/.default`);
  assert.ok(token.expiresOnTimestamp > Date.now());
  const body = claims(token.token);
  assert.equal(body.aud, emulatorUrl);
  assert.ok(body.oid);
});

test("ManagedIdentityCredential with a user-assigned client id names that identity", async () => {
  const clientId = "11111111-2222-3333-4444-555555555555";
  const token = await new ManagedIdentityCredential({ clientId }).getToken(`${emulatorUrl}/.default`);
  assert.equal(claims(token.token).appid, clientId);
});
