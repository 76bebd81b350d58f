import Foundation

/// AWS credentials as the AWS SDKs find them without a network: the environment variables
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, else the profile
/// (`profile`, `AWS_PROFILE`, or `default`) of the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/credentials`).
struct AWSCredentials: Sendable {
    /// The keys of a credentials file profile that this plugin uses; any other key of the
    /// profile (`role_arn`, `credential_process`, `sso_…`) names a way of getting credentials it
    /// does not implement, and is rejected.
    static let profileKeys: Set = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"]

    /// Why no credentials were found, and where they were looked for; never a credential.
    struct Problem: Error, Sendable {
        var message: String
        init(_ message: String) { self.message = message }
    }

    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?

    /// The credentials `environment` leads to, or a problem saying where they were looked for
    /// (never a credential).
    static func resolve(profile: String?, environment: [String: String]) -> Result<AWSCredentials, Problem> {
        let id = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        if profile == nil, id != nil || secret != nil {
            guard let id, let secret else {
                return .failure(Problem("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"))
            }
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return .success(AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token))
        }
        let name = profile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let path = environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".aws/credentials")
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Problem("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set and \(path) cannot be read"))
        }
        return fromFile(String(decoding: data, as: UTF8.self), path: path, profile: name)
    }

    /// Profile `profile` of the credentials file `text` (INI: `[name]` sections of
    /// `key = value` lines, `#` and `;` comments).
    static func fromFile(_ text: String, path: String, profile: String) -> Result<AWSCredentials, Problem> {
        var section: String?
        var values: [String: String] = [:]
        var found = false
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                found = found || section == profile
                continue
            }
            guard section == profile else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                return .failure(Problem("\(path) [\(profile)]: a line is not key = value"))
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            guard profileKeys.contains(key) else {
                return .failure(Problem("\(path) [\(profile)]: \(key) is not supported; give aws_access_key_id and aws_secret_access_key (and aws_session_token)"))
            }
            values[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard found else { return .failure(Problem("\(path) has no profile [\(profile)]")) }
        guard let id = values["aws_access_key_id"], !id.isEmpty, let secret = values["aws_secret_access_key"], !secret.isEmpty else {
            return .failure(Problem("\(path) [\(profile)]: aws_access_key_id and aws_secret_access_key are both required"))
        }
        let token = values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return .success(AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token))
    }
}
