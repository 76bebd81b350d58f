import Foundation
import Testing
@testable import PostgresPlugin

/// A clock the test moves by hand.
private final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
}

/// The RDS IAM token against botocore's, the AWS credential chain, the AWS settings' checks, the
/// token cache's refreshes and the schema's secret marks.
@Suite("Cloud identity: RDS tokens, AWS credentials, token refresh", .temporaryFolder)
struct CloudIdentityUnitTests {
    /// botocore's `generate_db_auth_token` for the same inputs at the same moment (its clock
    /// fixed by patching `botocore.auth.get_current_datetime`).
    private func botocoreToken(host: String, port: Int, user: String, region: String, credentials: AWSCredentials,
                               at stamp: String) async throws -> String {
        let script = """
            import datetime, sys
            from unittest import mock
            import botocore.session
            host, port, user, region, key, secret, token, stamp = sys.argv[1:9]
            session = botocore.session.get_session()
            session.set_credentials(key, secret, token or None)
            client = session.create_client("rds", region_name=region)
            with mock.patch("botocore.auth.get_current_datetime", return_value=datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")):
                print(client.generate_db_auth_token(host, int(port), user, Region=region))
            """
        let run = try await CommandRun.run(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["python3", "-c", script, host, String(port), user, region, credentials.accessKeyID,
                                            credentials.secretAccessKey, credentials.sessionToken ?? "", stamp],
                                           environment: ["AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"])
        try #require(run.exitCode == 0, "botocore failed: \(run.stderr)")
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("the RDS IAM token equals botocore's generate_db_auth_token for the same inputs and clock",
          arguments: [
            ("mydb.abc123.eu-west-1.rds.amazonaws.com", 5432, "sluice", "eu-west-1", nil as String?),
            ("db.cluster-xyz.us-east-1.rds.amazonaws.com", 6543, "app user+ops@corp/ü", "us-east-1", "FwoGZXIvYXdzE//session+token=="),
            ("proxy.example.com", 443, "iam_reader", "ap-southeast-2", nil),
          ])
    func rdsTokenMatchesBotocore(host: String, port: Int, user: String, region: String, sessionToken: String?) async throws {
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         sessionToken: sessionToken)
        let date = Date(timeIntervalSince1970: 1_767_225_600 + 3723)  // 2026-01-01 01:02:03 UTC
        let stamp = RDSAuthToken.timestamp(date)
        #expect(stamp == "20260101T010203Z")
        let ours = RDSAuthToken(host: host, port: port, user: user, region: region, credentials: credentials).token(at: date)
        let theirs = try await botocoreToken(host: host, port: port, user: user, region: region, credentials: credentials, at: stamp)
        #expect(ours == theirs)
        #expect(ours.contains("X-Amz-Expires=900"))
    }

    @Test("AWS credentials: the environment first, else the profile of the shared credentials file; other ways are refused")
    func awsCredentialChain() throws {
        let fromEnvironment = try AWSCredentials.resolve(profile: nil, environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
        ]).get()
        #expect(fromEnvironment.accessKeyID == "AKIDENV" && fromEnvironment.sessionToken == "env-token")
        guard case .failure(let half) = AWSCredentials.resolve(profile: nil, environment: ["AWS_ACCESS_KEY_ID": "AKIDENV"]) else {
            Issue.record("a key id without its secret was accepted")
            return
        }
        #expect(half.message.contains("must be set together"))

        let file = try HostFixtures.temporaryFile("""
            # comment
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = default-secret

            [reporting]
            aws_access_key_id=AKIDREPORT
            aws_secret_access_key=report-secret
            aws_session_token = report-token
            [assumed]
            role_arn = arn:aws:iam::123456789012:role/db
            source_profile = default
            """, suffix: ".ini")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let environment = ["AWS_SHARED_CREDENTIALS_FILE": file]
        #expect(try AWSCredentials.resolve(profile: nil, environment: environment).get().accessKeyID == "AKIDDEFAULT")
        let reporting = try AWSCredentials.resolve(profile: nil, environment: environment.merging(["AWS_PROFILE": "reporting"]) { $1 }).get()
        #expect(reporting.secretAccessKey == "report-secret" && reporting.sessionToken == "report-token")
        // An explicit profile wins over the environment's keys.
        let explicit = try AWSCredentials.resolve(profile: "reporting", environment: environment.merging(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "x"]) { $1 }).get()
        #expect(explicit.accessKeyID == "AKIDREPORT")
        for (profile, expected) in [("assumed", "role_arn is not supported"), ("missing", "has no profile [missing]")] {
            guard case .failure(let problem) = AWSCredentials.resolve(profile: profile, environment: environment) else {
                Issue.record("profile \(profile) was accepted")
                continue
            }
            #expect(problem.message.contains(expected), "\(problem.message)")
            #expect(!problem.message.contains("default-secret"))
        }
        guard case .failure(let none) = AWSCredentials.resolve(profile: nil, environment: ["HOME": "/nonexistent"]) else {
            Issue.record("no credentials were accepted")
            return
        }
        #expect(none.message.contains("/nonexistent/.aws/credentials"))
    }

    @Test("aws_rds_iam needs TLS (sslmode require by default), a host, a user and a region; nothing secret in problems")
    func awsSettings() throws {
        let environment = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "very-secret-access-key"]
        let good = try PluginConfig.parse(#"{"host": "db.rds.amazonaws.com", "user": "sluice", "auth": {"method": "aws_rds_iam", "region": "eu-west-1"}}"#,
                                          environment: environment)
        #expect(good.connection.connectionConfig.resolvedSetting("sslmode") == "require")
        #expect(good.connection.auth.method == .awsRDSIAM)
        let regionFromEnvironment = try PluginConfig.parse(#"{"connection_string": "host=db.rds.amazonaws.com port=5433 user=sluice sslmode=verify-full", "auth": {"method": "aws_rds_iam"}}"#,
                                                           environment: environment.merging(["AWS_REGION": "us-west-2"]) { $1 })
        #expect(regionFromEnvironment.connection.connectionConfig.resolvedSetting("sslmode") == "verify-full")

        let cases: [(String, [String])] = [
            (#"{"host": "db", "user": "u", "sslmode": "prefer", "auth": {"method": "aws_rds_iam", "region": "eu-west-1"}}"#,
             ["$.sslmode: aws_rds_iam needs sslmode require"]),
            (#"{"database": "app", "auth": {"method": "aws_rds_iam"}}"#,
             ["$.host: aws_rds_iam needs the database host", "$.user: aws_rds_iam needs the database user", "$.auth.region: required"]),
            (#"{"connection_string": "postgresql://u:pw@db/app", "auth": {"method": "aws_rds_iam", "region": "x", "tenant_id": "t"}}"#,
             ["$.connection_string: must not hold a password", "$.auth.tenant_id: not used with method aws_rds_iam"]),
            (#"{"host": "db", "user": "u", "auth": {"method": "aws_rds_iam", "region": "", "profile": ""}}"#,
             ["$.auth.region: must not be empty", "$.auth.profile: must not be empty"]),
        ]
        for (json, expected) in cases {
            do {
                _ = try PluginConfig.parse(json, environment: environment)
                Issue.record("accepted: \(json)")
            } catch {
                #expect(error.code == "INVALID_CONFIG")
                for problem in expected { #expect(error.message.contains(problem), "\(error.message)") }
                #expect(!error.message.contains("very-secret-access-key"))
            }
        }
        do {
            _ = try PluginConfig.parse(#"{"host": "db", "user": "u", "auth": {"method": "aws_rds_iam", "region": "x"}}"#, environment: ["HOME": "/nonexistent"])
            Issue.record("accepted without credentials")
        } catch {
            #expect(error.message.contains("$.auth: no AWS credentials"))
        }
    }

    @Test("a token is reused while enough of its life is left, and fetched anew before it expires")
    func tokenRefresh() async throws {
        let secret = "refresh-secret-\(UUID().uuidString)"
        let server = try await TokenServer.start(["--tenant", "t1", "--client-id", "c1", "--client-secret", secret, "--expires-in", "600"])
        defer { server.stop() }
        let clock = ManualClock(Date())
        let url = try #require(EntraClientCredentials.tokenURL(authorityHost: server.baseURL, tenantID: "t1"))
        let credentials = ConnectionCredentials(entra: EntraClientCredentials(tenantID: "t1", clientID: "c1", clientSecret: secret, tokenURL: url),
                                                now: { clock.now })
        // Connections opened together share one request.
        async let first = credentials.password()
        async let second = credentials.password()
        let tokens = try await [first, second]
        #expect(tokens == [server.token, server.token])
        #expect(try await server.stats()["issued"] == 1)
        clock.advance(290)  // 310 s left: still more than the 5-minute margin
        _ = try await credentials.password()
        #expect(try await server.stats()["issued"] == 1)
        clock.advance(20)  // 290 s left: a new connection gets a new token
        _ = try await credentials.password()
        #expect(try await server.stats()["issued"] == 2)
        clock.advance(1000)  // long expired
        _ = try await credentials.password()
        #expect(try await server.stats()["issued"] == 3)
    }

    @Test("the schema offers auth with its secrets marked secret")
    func schema() throws {
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(ConfigSchema.json.utf8)) as? [String: Any])
        let auth = try #require((schema["properties"] as? [String: Any])?["auth"] as? [String: Any])
        let properties = try #require(auth["properties"] as? [String: [String: Any]])
        #expect(auth["additionalProperties"] as? Bool == false)
        #expect(properties["service_account_key"]?["secret"] as? Bool == true)
        #expect(properties["client_secret"]?["secret"] as? Bool == true)
        #expect(properties["method"]?["enum"] as? [String] == AuthSettings.Method.allCases.map(\.rawValue))
        let keys = Set(properties.keys).subtracting(["method"])
        #expect(keys == AuthSettings.Method.allCases.reduce(into: Set<String>()) { $0.formUnion($1.keys) })
    }
}
