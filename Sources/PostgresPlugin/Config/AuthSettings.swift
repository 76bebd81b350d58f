import Foundation
import PostgresClient

/// `auth`: how connections prove who they are. `password` (the default) is the `password`
/// field or the connection string's; the cloud identities give each new connection a
/// short-lived token as its password instead (``ConnectionCredentials``).
struct AuthSettings: Sendable {
    /// The `auth.method` names.
    enum Method: String, SettingChoice {
        case password
        /// A Google Cloud service account key; Cloud SQL IAM database authentication.
        case gcpServiceAccount = "gcp_service_account"
        /// An Amazon RDS IAM authentication token, signed with AWS credentials.
        case awsRDSIAM = "aws_rds_iam"
        /// A Microsoft Entra ID application's client credentials; Azure Database for PostgreSQL.
        case azureEntra = "azure_entra"

        /// What to check when the server refuses a connection's credentials.
        var refusalHint: String {
            switch self {
            case .password: "check the user name and password"
            case .gcpServiceAccount: "the server refused the service account's token: check that the user is the account's Cloud SQL IAM user (its email without .gserviceaccount.com) and that the instance has cloudsql.iam_authentication on"
            case .awsRDSIAM: "the server refused the RDS IAM token: check that the user is granted rds_iam, that the AWS identity may rds-db:connect as it, and the region"
            case .azureEntra: "the server refused the Entra ID token: check that the user is the application's database role (pgaadauth_create_principal) and that Entra authentication is on"
            }
        }

        /// The settings of `auth` this method reads, besides `method`.
        var keys: Set<String> {
            switch self {
            case .password: []
            case .gcpServiceAccount: [Given.serviceAccountKeySetting.key, Given.serviceAccountKeyFileSetting.key]
            case .awsRDSIAM: [Given.regionSetting.key, Given.profileSetting.key]
            case .azureEntra: [Given.tenantIDSetting.key, Given.clientIDSetting.key, Given.clientSecretSetting.key, Given.authorityHostSetting.key]
            }
        }
    }

    var method: Method = .password
    /// Where each connection's password comes from; nil for `password`.
    var credentials: ConnectionCredentials?

    /// The settings of `auth` as given, before they are fitted to the connection.
    struct Given {
        var method: Method
        var serviceAccountKey: String?
        var serviceAccountKeyFile: String?
        var region: String?
        var profile: String?
        var tenantID: String?
        var clientID: String?
        var clientSecret: String?
        var authorityHost: String

        static let methodSetting = Setting<Method>.choice("method", default: .password, "The authentication method.")
        static let serviceAccountKeySetting = Setting<String?>.string(
            "service_account_key", secret: true, "gcp_service_account: the service account key file's JSON. Prefer ${ENV_VAR} expansion.")
        static let serviceAccountKeyFileSetting = Setting<String?>.string(
            "service_account_key_file", minLength: 1, "gcp_service_account: path of the service account key file (instead of service_account_key).")
        static let regionSetting = Setting<String?>.string(
            "region", minLength: 1, "aws_rds_iam: the database's AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION).")
        static let profileSetting = Setting<String?>.string(
            "profile", minLength: 1,
            "aws_rds_iam: the profile of the shared credentials file to use instead of the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables (default: those, else AWS_PROFILE, else default).")
        static let tenantIDSetting = Setting<String?>.string("tenant_id", minLength: 1, "azure_entra: the directory (tenant) id.")
        static let clientIDSetting = Setting<String?>.string("client_id", minLength: 1, "azure_entra: the application (client) id.")
        static let clientSecretSetting = Setting<String?>.string(
            "client_secret", secret: true, minLength: 1, "azure_entra: the application's client secret. Prefer ${ENV_VAR} expansion.")
        static let authorityHostSetting = Setting<String>.string(
            "authority_host", default: EntraClientCredentials.defaultAuthorityHost, "azure_entra: the Entra ID authority (another cloud's).")

        /// Reads `auth`'s settings; a setting its method does not use is a problem.
        init(_ nested: inout ConfigReader) {
            method = nested.read(Self.methodSetting)
            serviceAccountKey = nested.read(Self.serviceAccountKeySetting)
            serviceAccountKeyFile = nested.read(Self.serviceAccountKeyFileSetting)
            region = nested.read(Self.regionSetting)
            profile = nested.read(Self.profileSetting)
            tenantID = nested.read(Self.tenantIDSetting)
            clientID = nested.read(Self.clientIDSetting)
            clientSecret = nested.read(Self.clientSecretSetting)
            authorityHost = nested.read(Self.authorityHostSetting)
            if authorityHost.isEmpty { nested.problem("authority_host", "must not be empty") as Void? }
            let everyKey = Method.allCases.reduce(into: Set<String>()) { $0.formUnion($1.keys) }
            for key in nested.keys.sorted() where everyKey.contains(key) && !method.keys.contains(key) {
                nested.problem(key, "not used with method \(method.rawValue)") as Void?
            }
        }
    }
}

extension ConnectionSettings {
    /// Reads `auth` and fits the connection to it: a cloud identity needs no `password`, names
    /// the user when the identity implies it, and for AWS needs TLS (`sslmode` defaults to
    /// `require` then).
    mutating func readAuth(_ reader: inout ConfigReader, environment: [String: String]) {
        let description = "How connections authenticate: password (the default: the password field or the connection string), gcp_service_account (Cloud SQL IAM database authentication with a service account key), aws_rds_iam (an RDS IAM authentication token made from AWS credentials), azure_entra (a Microsoft Entra ID token for an application). The cloud methods give each new connection a fresh token as its password."
        guard let given = reader.readObject("auth", description, AuthSettings.Given.init) else { return }
        let method = given.method
        // Problems of `auth`'s settings found below are named under `auth`.
        var nested = reader.child("auth", object: [:])
        defer { reader.merge(nested) }
        auth.method = method
        guard method != .password else { return }
        if password != nil {
            reader.problem("password", "not used with auth.method \(method.rawValue): the token is the password") as Void?
        }
        let libpq = ConnectionConfig(connectionString: connectionString, host: host, port: port, database: database, user: user, sslmode: sslmode?.rawValue)
        if connectionString != nil, !libpq.secrets.isEmpty {
            reader.problem("connection_string", "must not hold a password with auth.method \(method.rawValue): the token is the password") as Void?
        }
        switch method {
        case .password:
            return
        case .gcpServiceAccount:
            guard let key = serviceAccountKey(given, &nested) else { return }
            if libpq.resolvedSetting("user") == nil { user = key.databaseUser }
            auth.credentials = ConnectionCredentials(gcp: key)
        case .awsRDSIAM:
            let region = given.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"]
                ?? nested.problem("region", "required (or the AWS_REGION environment variable)")
            let host = libpq.resolvedSetting("host") ?? reader.problem("host", "aws_rds_iam needs the database host: the token is signed for it")
            if let host, host.contains(",") || host.hasPrefix("/") {
                reader.problem("host", "aws_rds_iam needs one database host name, not a list or a socket directory") as Void?
            }
            let user = libpq.resolvedSetting("user") ?? reader.problem("user", "aws_rds_iam needs the database user (a user granted rds_iam)")
            let port = libpq.resolvedSetting("port").flatMap { Int($0) } ?? 5432
            if let mode = libpq.resolvedSetting("sslmode") {
                if !SSLMode.encrypted.contains(mode) {
                    reader.problem("sslmode", "aws_rds_iam needs sslmode require, verify-ca or verify-full: the token must not cross the network in clear text") as Void?
                }
            } else {
                sslmode = .require
            }
            let credentials: AWSCredentials?
            switch AWSCredentials.resolve(profile: given.profile, environment: environment) {
            case .success(let found): credentials = found
            case .failure(let problem): credentials = reader.problem("auth", problem.message)
            }
            guard let region, let host, let user, let credentials else { return }
            auth.credentials = ConnectionCredentials(rds: RDSAuthToken(host: host, port: port, user: user, region: region, credentials: credentials))
        case .azureEntra:
            let tenant = given.tenantID ?? nested.problem("tenant_id", "required")
            let client = given.clientID ?? nested.problem("client_id", "required")
            let secret = given.clientSecret ?? nested.problem("client_secret", "required")
            let authority = given.authorityHost
            if libpq.resolvedSetting("user") == nil {
                reader.problem("user", "azure_entra needs the database role of the application (its name in Entra ID)") as Void?
            }
            guard let tenant, let client, let secret else { return }
            guard let url = EntraClientCredentials.tokenURL(authorityHost: authority, tenantID: tenant) else {
                nested.problem("authority_host", "must be an https URL (http only to a loopback address)") as Void?
                return
            }
            auth.credentials = ConnectionCredentials(entra: EntraClientCredentials(tenantID: tenant, clientID: client, clientSecret: secret, tokenURL: url))
        }
    }

    /// The key of `service_account_key` or `service_account_key_file` (exactly one).
    private func serviceAccountKey(_ given: AuthSettings.Given, _ nested: inout ConfigReader) -> ServiceAccountKey? {
        switch (given.serviceAccountKey, given.serviceAccountKeyFile) {
        case (let text?, nil):
            return ServiceAccountKey.parse(text, setting: "service_account_key", in: &nested)
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                return nested.problem("service_account_key_file", "cannot read \(path)")
            }
            return ServiceAccountKey.parse(String(decoding: data, as: UTF8.self), setting: "service_account_key_file", in: &nested)
        default:
            return nested.problem("service_account_key", "give exactly one of service_account_key and service_account_key_file")
        }
    }
}
