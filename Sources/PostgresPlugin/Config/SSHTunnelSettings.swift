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
    init?(_ reader: inout ConfigReader) {
        guard var nested = reader.object("ssh_tunnel") else { return nil }
        defer { reader.merge(nested) }
        host = nested.string("host") ?? nested.problem("host", "required") ?? ""
        port = nested.integer("port", default: 22, range: 1...65535)
        user = nested.string("user") ?? nested.problem("user", "required") ?? ""
        privateKey = nested.string("private_key")
        privateKeyFile = nested.string("private_key_file")
        if (privateKey == nil) == (privateKeyFile == nil) {
            nested.problem("private_key", "give exactly one of private_key and private_key_file") as Void?
        }
        hostKey = nested.string("host_key")
        connectTimeout = nested.integer("connect_timeout", default: 10, range: 1...300)
        let known: Set = ["host", "port", "user", "private_key", "private_key_file", "host_key", "connect_timeout"]
        for key in nested.keys.sorted() where !known.contains(key) {
            nested.problem(key, "unknown setting") as Void?
        }
    }

    static var schemaProperties: [String: Any] {
        [
            "ssh_tunnel": [
                "type": "object",
                "description": "Connect through an SSH bastion (OpenSSH's ssh -L, run for the duration of each call): the database host and port are then as the bastion sees them. Needs the discrete host field.",
                "required": ["host", "user"],
                "additionalProperties": false,
                "properties": [
                    "host": ["type": "string", "description": "The bastion's host name or address."],
                    "port": ["type": "integer", "minimum": 1, "maximum": 65535, "default": 22, "description": "The bastion's SSH port."],
                    "user": ["type": "string", "description": "The user to log in to the bastion as."],
                    "private_key": ["type": "string", "secret": true, "writeOnly": true, "description": "The private key (OpenSSH or PEM text, unencrypted). Prefer ${ENV_VAR} expansion."],
                    "private_key_file": ["type": "string", "description": "Path of the private key file (instead of private_key)."],
                    "host_key": ["type": "string", "description": "The bastion's public host key as in known_hosts (e.g. \"ssh-ed25519 AAAA…\"); verified strictly when given."],
                    "connect_timeout": ["type": "integer", "minimum": 1, "maximum": 300, "default": 10, "description": "Seconds to wait for the tunnel."],
                ],
            ],
        ]
    }
}
