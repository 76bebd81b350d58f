/// A violation of the wire protocol: a malformed frame or an undecodable message.
/// It names what was wrong and where, and never contains payload bytes.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes.
    public enum Code: String, Sendable {
        case truncatedFrame = "TRUNCATED_FRAME"
        case unsupportedFlags = "UNSUPPORTED_FRAME_FLAGS"
        case frameTooLarge = "FRAME_TOO_LARGE"
        case undecodableMessage = "UNDECODABLE_MESSAGE"
        case invalidMessage = "INVALID_MESSAGE"
        case unexpectedMessage = "UNEXPECTED_MESSAGE"
        case versionMismatch = "PROTOCOL_VERSION_MISMATCH"
    }

    public var code: Code
    public var message: String
    /// The 1-based number of the frame concerned, 0 when not known.
    public var frameNumber: Int
    /// The byte offset in the stream where that frame starts, -1 when not known.
    public var byteOffset: Int

    public init(_ code: Code, _ message: String, frameNumber: Int = 0, byteOffset: Int = -1) {
        self.code = code
        self.message = message
        self.frameNumber = frameNumber
        self.byteOffset = byteOffset
    }

    public var description: String {
        var where_ = ""
        if frameNumber > 0 { where_ += " in frame \(frameNumber)" }
        if byteOffset >= 0 { where_ += " at byte offset \(byteOffset)" }
        return "\(code.rawValue): \(message)\(where_)"
    }
}
