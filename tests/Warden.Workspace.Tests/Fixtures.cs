[assembly: AssemblyFixture(typeof(Warden.Tests.PostgresServer))]
