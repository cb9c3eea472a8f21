// What every test file shares: the emulator's vault URLs and one DefaultAzureCredential.
//
// tests/emulator/test_js_sdk.py starts `kvconfig fake serve` and runs these files with, in the environment:
//   KVCONFIG_EMULATOR_PORT           the emulator's port (vaults are https://<vault>.localhost:<port>)
//   NODE_EXTRA_CA_CERTS              the emulator's CA (read when node starts)
//   IDENTITY_ENDPOINT, IDENTITY_HEADER   App Service managed identity, served by the emulator
//   HTTPS_PROXY                      the emulator's tunnel, where *.localhost does not resolve
import { randomUUID } from "node:crypto";
import { DefaultAzureCredential } from "@azure/identity";

const port = process.env.KVCONFIG_EMULATOR_PORT;
if (!port) {
  throw new Error("Set KVCONFIG_EMULATOR_PORT to the port of a running `kvconfig fake serve`.");
}

export function vaultUrl(name) {
  return `https://${name}.localhost:${port}`;
}

export const emulatorUrl = `https://localhost:${port}`;

export const credential = new DefaultAzureCredential();

// The pollers' own waits: quick, as the emulator finishes long-running operations at once or on the next request.
export const poll = { intervalInMs: 50 };

export function unique(prefix) {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
