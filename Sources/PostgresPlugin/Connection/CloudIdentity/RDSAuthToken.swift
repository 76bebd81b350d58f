import Crypto
import Foundation

/// The Amazon RDS IAM authentication token, made locally as the AWS SDKs make it: a URL for
/// the `connect` action of the `rds-db` service at `host:port` for `user`, presigned with
/// Signature Version 4 (query parameters, valid ``lifetime`` seconds), without its `https://`.
/// RDS accepts it as the password of a user granted `rds_iam`, over TLS only.
struct RDSAuthToken {
    /// How long a token may be used to open a connection (the SDKs' 15 minutes).
    static let lifetime = 900
    static let service = "rds-db"

    var host: String
    var port: Int
    var user: String
    var region: String
    var credentials: AWSCredentials

    /// The token for a connection opened at `date`.
    func token(at date: Date) -> String {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        let scope = "\(day)/\(region)/\(Self.service)/aws4_request"
        // The order of the AWS SDKs: the action's parameters, then the signing ones, the
        // session token last; the signature is made over them sorted by name.
        var query = [
            ("Action", "connect"), ("DBUser", user),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", stamp), ("X-Amz-Expires", String(Self.lifetime)), ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { query.append(("X-Amz-Security-Token", token)) }
        let encoded = query.map { "\(Self.encoded($0.0))=\(Self.encoded($0.1))" }
        let authority = "\(host):\(port)"
        // The host header, as an HTTP client sends it: the port only when it is not https's.
        let hostHeader = port == 443 ? host : authority
        let canonicalRequest = [
            "GET", "/", encoded.sorted().joined(separator: "&"),
            "host:\(hostHeader)\n", "host", Self.hex(SHA256.hash(data: Data())),  // the empty body's hash
        ].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, Self.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        return "\(authority)/?\(encoded.joined(separator: "&"))&X-Amz-Signature=\(signature)"
    }

    /// `date` as SigV4's `YYYYMMDDTHHMMSSZ`, in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return String(format: "%04d", parts.year ?? 0) + two(parts.month) + two(parts.day) + "T"
            + two(parts.hour) + two(parts.minute) + two(parts.second) + "Z"
    }

    /// `text` percent-encoded as SigV4 wants: everything but RFC 3986's unreserved characters.
    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: TokenEndpoint.unreserved) ?? text
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
