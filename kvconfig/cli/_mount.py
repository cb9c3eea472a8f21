"""``kvconfig mount``: what the Secrets Store CSI driver would write for a SecretProviderClass, in a local folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from kvconfig._private_files import write_private
from kvconfig.cli._common import fail, note, warn
from kvconfig.cli._duration import Duration
from kvconfig.errors import KvConfigError
from kvconfig.mount import SecretsMount, read_spc, secret_manifests

__all__ = ["mount"]


@click.command()
@click.option(
    "--spc",
    "spc_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A SecretProviderClass manifest (provider azure), as you would kubectl apply it.",
)
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to mount into (the pod's mountPath): files are links into DIR/..data, swapped atomically.",
)
@click.option(
    "--fake-vault",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve the vault from kvconfig's embedded fake, seeded from this JSON file (no Azure account needed).",
)
@click.option(
    "--rotation-poll-interval",
    type=Duration(),
    help="Keep polling the vault at this interval (2m, 1h) and swap in new versions, as the driver's auto-rotation "
    "does; stop with Ctrl-C.",
)
@click.option(
    "--secret-manifest",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write the Kubernetes Secrets that secretObjects would sync to this file (mode 600), or to stdout with - "
    "and --reveal.",
)
@click.option("--namespace", help="The namespace of the Secret manifests.")
@click.option("--reveal", is_flag=True, help="Allow --secret-manifest - to print secret values (base64) on stdout.")
def mount(
    spc_path: Path,
    directory: Path,
    fake_vault: Path | None,
    rotation_poll_interval: float | None,
    secret_manifest: Path | None,
    namespace: str | None,
    reveal: bool,
) -> None:
    """Write a SecretProviderClass's objects into DIR as the CSI driver does, and keep them current."""
    to_stdout = secret_manifest is not None and str(secret_manifest) == "-"
    if to_stdout and not reveal:
        raise click.UsageError("--secret-manifest - prints secret values (base64 is not protection); add --reveal.")
    try:
        spc = read_spc(spc_path)
        if secret_manifest is not None and not spc.secret_objects:
            warn(f"{spc_path} has no secretObjects: the Secret manifest is empty.")
        with contextlib.ExitStack() as stack:
            if fake_vault is not None:
                from kvconfig.fake import FakeKeyVault

                fake = FakeKeyVault()
                try:
                    fake.seed(fake_vault)
                except (ValueError, OSError) as exc:
                    raise KvConfigError(f"Cannot use the --fake-vault seed {fake_vault}: {exc}") from None
                stack.enter_context(fake.patch())
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
            stack.callback(getattr(credential, "close", lambda: None))
            target = SecretsMount(spc, directory, credential)
            target.sync()
            note(f"mounted {len(spc.objects)} objects of {spc.keyvault_name} into {directory}.")

            def publish(_changed: list[str] | None = None) -> None:
                if secret_manifest is None:
                    return
                text = secret_manifests(spc.secret_objects, target.files(), namespace)
                if to_stdout:
                    click.echo(text, nl=False)
                else:
                    write_private(secret_manifest, text)
                    note(f"wrote {len(spc.secret_objects)} Secret manifests to {secret_manifest} (mode 600).")

            publish()
            if rotation_poll_interval is not None:

                def rotated(changed: list[str]) -> None:
                    note(f"rotated: {', '.join(changed)}.")
                    publish()

                note(f"polling every {rotation_poll_interval:g}s; Ctrl-C stops.")
                with contextlib.suppress(KeyboardInterrupt):
                    target.poll(rotation_poll_interval, on_change=rotated)
    except KvConfigError as exc:
        fail(exc)
