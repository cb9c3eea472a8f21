// The overview's Container Apps example, exactly as it is written there: kvconfig reads it without the Bicep compiler.
//   kvconfig run --fake-vault examples/containerapp/vault.json --containerapp examples/containerapp/app.bicep \
//       -- python examples/containerapp/show_env.py
//   kvconfig check --fake-vault examples/containerapp/vault.json --containerapp examples/containerapp/app.bicep
resource containerApp 'Microsoft.App/containerApps@2023-05-01' = {
name: 'myapp'
identity: { type: 'SystemAssigned' }
properties: {
configuration: {
secrets: [
{
name: 'db-password'
keyVaultUrl: 'https://myvault.vault.azure.net/secrets/db-password'
identity: 'system' // Use system-assigned identity
}
]
}
template: {
containers: [{
env: [
{ name: 'DB_PASSWORD', secretRef: 'db-password' }
]
}]
}
}
}
