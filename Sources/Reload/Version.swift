/// The version of Remap, shared by the library and reloadctl.
public enum Version {
    public static let string = "0.1.0"
}
