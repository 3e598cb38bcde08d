namespace Libra.Shims.NineP
{
    // What Linux v9fs does for a server without Trenameat/Tunlinkat (diod 1.0.24 answers EOPNOTSUPP):
    // rename through Twalk + Trename (v9fs_vfs_rename), unlink and rmdir through Twalk + Tremove
    // (v9fs_remove). NinePSession's decisions, apart so they read as the rules they are.
    internal static class NinePFallback
    {
        // A server without the message answers ENOSYS or EOPNOTSUPP (diod 1.0.24's libnpfs).
        internal static bool IsUnsupported(int error) => error == -(int)Errno.ENOSYS || error == -(int)Errno.ENOTSUP;

        // Tremove does not check the kind, so the client does: unlink(2) of a directory is EISDIR and
        // rmdir(2) (UnlinkRemoveDirectory) of anything else ENOTDIR; 0 when the kinds agree.
        internal static int RemoveKindError(bool isDirectory, uint unlinkFlags)
        {
            bool wantDirectory = (unlinkFlags & NinePProtocol.UnlinkRemoveDirectory) != 0;
            if (isDirectory == wantDirectory) return 0;
            return -(int)(isDirectory ? Errno.EISDIR : Errno.ENOTDIR);
        }
    }
}
