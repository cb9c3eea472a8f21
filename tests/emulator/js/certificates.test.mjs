// Certificates through @azure/keyvault-certificates: creation through the SDK's poller, the policy, versions,
// the certificate's secret, and deletion through its poller.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import { CertificateClient, DefaultCertificatePolicy } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { credential, poll, unique, vaultUrl } from "./support.mjs";

const certificates = new CertificateClient(vaultUrl("pki"), credential);

test("a self-signed certificate is created through the poller", async () => {
  const name = unique("web");
  const poller = await certificates.beginCreateCertificate(
    name,
    { issuerName: "Self", subject: "CN=web.example", validityInMonths: 12, contentType: "application/x-pem-file" },
    poll,
  );
  const certificate = await poller.pollUntilDone();
  assert.equal(certificate.name, name);
  assert.equal(certificate.policy.subject, "CN=web.example");
  const x509 = new X509Certificate(Buffer.from(certificate.cer));
  assert.equal(x509.subject, "CN=web.example");
  const operation = await certificates.getCertificateOperation(name);
  assert.equal(operation.getOperationState().certificateOperation.status, "completed");

  // The certificate's secret holds the PEM of the key and the certificate.
  const secrets = new SecretClient(vaultUrl("pki"), credential);
  const pem = (await secrets.getSecret(name)).value;
  assert.match(pem, /-----BEGIN PRIVATE KEY-----/);
  assert.match(pem, /-----BEGIN CERTIFICATE-----/);
});

test("the default policy, a new version and the policy read back", async () => {
  const name = unique("api");
  await (await certificates.beginCreateCertificate(name, DefaultCertificatePolicy, poll)).pollUntilDone();
  await (await certificates.beginCreateCertificate(name, DefaultCertificatePolicy, poll)).pollUntilDone();
  const versions = [];
  for await (const properties of certificates.listPropertiesOfCertificateVersions(name)) {
    versions.push(properties.version);
  }
  assert.equal(versions.length, 2);
  const policy = await certificates.getCertificatePolicy(name);
  assert.equal(policy.issuerName, "Self");
  assert.equal(policy.subject, "cn=MyCert");
});

test("deletion and recovery run through their pollers", async () => {
  const name = unique("gone");
  await (await certificates.beginCreateCertificate(name, DefaultCertificatePolicy, poll)).pollUntilDone();
  const deleted = await (await certificates.beginDeleteCertificate(name, poll)).pollUntilDone();
  assert.equal(deleted.name, name);
  assert.equal((await certificates.getDeletedCertificate(name)).name, name);
  await (await certificates.beginRecoverDeletedCertificate(name, poll)).pollUntilDone();
  assert.equal((await certificates.getCertificate(name)).name, name);
});
