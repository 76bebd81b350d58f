/// `ssh_tunnel`: reach the server through an SSH bastion (Census's "Use SSH Tunnel"), with a
/// key, and the bastion's host key to verify it.
struct SSHTunnelSettings: Sendable {
    var host: String
    var port: Int
    var user: String
    /// The private key itself (OpenSSH or PEM text), or nil when `private_key_file` names it.
    var privateKey: String?
    var privateKeyFile: String?
    /// The bastion's public host key (`ssh-ed25519 AAAA…`, as in known_hosts); without it the
    /// key the bastion shows is accepted (and a warning logged).
    var hostKey: String?
    var connectTimeout: Int

    /// The settings of `ssh_tunnel`, or nil when it is absent.
    static func read(_ reader: inout ConfigReader) -> SSHTunnelSettings? {
        reader.readObject("ssh_tunnel", required: ["host", "user"], "Connect through an SSH bastion (OpenSSH's ssh -L, run for the duration of each call): the database host and port are then as the bastion sees them. Needs the discrete host field.") { nested in
            SSHTunnelSettings(&nested)
        }
    }

    private static let hostSetting = Setting<String?>.string("host", minLength: 1, "The bastion's host name or address.")
    private static let portSetting = Setting<Int>.integer("port", default: 22, range: 1...65535, "The bastion's SSH port.")
    private static let userSetting = Setting<String?>.string("user", minLength: 1, "The user to log in to the bastion as.")
    private static let privateKeySetting = Setting<String?>.string(
        "private_key", secret: true, "The private key (OpenSSH or PEM text, unencrypted). Prefer ${ENV_VAR} expansion.")
    private static let privateKeyFileSetting = Setting<String?>.string(
        "private_key_file", minLength: 1, "Path of the private key file (instead of private_key).")
    private static let hostKeySetting = Setting<String?>.string(
        "host_key", "The bastion's public host key as in known_hosts (e.g. \"ssh-ed25519 AAAA…\"); verified strictly when given.")
    private static let connectTimeoutSetting = Setting<Int>.integer(
        "connect_timeout", default: 10, range: 1...300, "Seconds to wait for the tunnel.")

    private init(_ nested: inout ConfigReader) {
        host = nested.readRequired(Self.hostSetting) ?? ""
        port = nested.read(Self.portSetting)
        user = nested.readRequired(Self.userSetting) ?? ""
        privateKey = nested.read(Self.privateKeySetting)
        privateKeyFile = nested.read(Self.privateKeyFileSetting)
        if (privateKey == nil) == (privateKeyFile == nil) {
            nested.problem("private_key", "give exactly one of private_key and private_key_file") as Void?
        }
        hostKey = nested.read(Self.hostKeySetting)
        connectTimeout = nested.read(Self.connectTimeoutSetting)
    }
}
