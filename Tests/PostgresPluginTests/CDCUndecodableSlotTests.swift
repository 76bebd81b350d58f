import Testing
@testable import PostgresClient
@testable import PostgresPlugin

/// A slot whose changes the server cannot decode fails saying to start over with a new snapshot,
/// since every later start from it meets the same error.
@Suite struct CDCUndecodableSlotTests {
    private static func serverError(_ message: String, sqlState: String = "XX000") -> PostgresError {
        PostgresError(kind: .server, message: message, sqlState: sqlState, secrets: [])
    }

    @Test func theServersMappingFailureSaysToStartOver() throws {
        for message in [#"could not map filenumber "base/5/111673" to relation OID"#, #"could not map filenode "base/5/16384" to relation OID"#] {
            let failure = try #require(CDCReader.undecodable(Self.serverError(message), slot: "sluice_app"))
            #expect(failure.code == "SLOT_UNDECODABLE")
            #expect(failure.category == .data)
            #expect(failure.message.contains("replication slot sluice_app: \(message) (SQLSTATE XX000)"))
            #expect(failure.message.contains("start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources"))
        }
    }

    @Test func otherErrorsAreLeftAsTheyAre() {
        #expect(CDCReader.undecodable(Self.serverError("could not map filenumber \"base/5/1\" to relation OID", sqlState: "XX001"), slot: "s") == nil)
        #expect(CDCReader.undecodable(Self.serverError("cache lookup failed for relation 16384"), slot: "s") == nil)
    }
}
