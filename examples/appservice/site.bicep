// An App Service app whose settings read Key Vault with its system-assigned identity, as Bicep declares it. kvconfig
// reads the site's siteConfig.appSettings (the plan beside it is not read) without the Bicep compiler:
//   kvconfig check --fake-vault examples/containerapp/vault.json --appsettings examples/appservice/site.bicep
resource plan 'Microsoft.Web/serverfarms@2023-01-01' = {
  name: 'myPlan'
  location: 'westeurope'
  sku: { name: 'B1', tier: 'Basic' }
  kind: 'linux'
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2023-01-01' = {
  name: 'myWebApp'
  location: 'westeurope'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myRG/providers/Microsoft.Web/serverfarms/myPlan'
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      appSettings: [
        {
          name: 'STRIPE_API_KEY'
          value: '@Microsoft.KeyVault(VaultName=myVault;SecretName=stripe-api-key)'
        }
        {
          name: 'DB_PASSWORD'
          value: '@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password/)'
        }
        { name: 'WEBSITE_RUN_FROM_PACKAGE', value: '1' }
      ]
    }
  }
}
