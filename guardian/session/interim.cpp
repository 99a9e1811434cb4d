// INTERIM syscall list (see interim.hpp): the path-, exec- and network-taking syscalls.
#include "session/interim.hpp"

#include <sys/syscall.h>

namespace guardian::session {

namespace {
using decode::Family;
using decode::Filter;
constexpr decode::SyscallInfo kList[] = {
    {__NR_open, "open", Family::file_open, Filter::notify},
    {__NR_stat, "stat", Family::file_stat, Filter::notify},
    {__NR_lstat, "lstat", Family::file_stat, Filter::notify},
    {__NR_access, "access", Family::file_stat, Filter::notify},
    {__NR_socket, "socket", Family::net, Filter::notify},
    {__NR_connect, "connect", Family::net, Filter::notify},
    {__NR_sendmsg, "sendmsg", Family::net, Filter::notify},
    {__NR_bind, "bind", Family::net, Filter::notify},
    {__NR_execve, "execve", Family::exec, Filter::notify},
    {__NR_truncate, "truncate", Family::file_write, Filter::notify},
    {__NR_rename, "rename", Family::file_write, Filter::notify},
    {__NR_mkdir, "mkdir", Family::file_write, Filter::notify},
    {__NR_rmdir, "rmdir", Family::file_write, Filter::notify},
    {__NR_creat, "creat", Family::file_open, Filter::notify},
    {__NR_link, "link", Family::file_write, Filter::notify},
    {__NR_unlink, "unlink", Family::file_write, Filter::notify},
    {__NR_symlink, "symlink", Family::file_write, Filter::notify},
    {__NR_readlink, "readlink", Family::file_stat, Filter::notify},
    {__NR_chmod, "chmod", Family::file_write, Filter::notify},
    {__NR_chown, "chown", Family::file_write, Filter::notify},
    {__NR_lchown, "lchown", Family::file_write, Filter::notify},
    {__NR_mknod, "mknod", Family::file_write, Filter::notify},
    {__NR_chroot, "chroot", Family::system, Filter::notify},
    {__NR_mount, "mount", Family::system, Filter::notify},
    {__NR_openat, "openat", Family::file_open, Filter::notify},
    {__NR_mkdirat, "mkdirat", Family::file_write, Filter::notify},
    {__NR_newfstatat, "newfstatat", Family::file_stat, Filter::notify},
    {__NR_unlinkat, "unlinkat", Family::file_write, Filter::notify},
    {__NR_renameat, "renameat", Family::file_write, Filter::notify},
    {__NR_linkat, "linkat", Family::file_write, Filter::notify},
    {__NR_symlinkat, "symlinkat", Family::file_write, Filter::notify},
    {__NR_readlinkat, "readlinkat", Family::file_stat, Filter::notify},
    {__NR_fchmodat, "fchmodat", Family::file_write, Filter::notify},
    {__NR_faccessat, "faccessat", Family::file_stat, Filter::notify},
    {__NR_utimensat, "utimensat", Family::file_write, Filter::notify},
    {__NR_sendmmsg, "sendmmsg", Family::net, Filter::notify},
    {__NR_renameat2, "renameat2", Family::file_write, Filter::notify},
    {__NR_execveat, "execveat", Family::exec, Filter::notify},
    {__NR_statx, "statx", Family::file_stat, Filter::notify},
    {__NR_openat2, "openat2", Family::file_open, Filter::notify},
    {__NR_faccessat2, "faccessat2", Family::file_stat, Filter::notify},
};
}  // namespace

std::span<const decode::SyscallInfo> interim_syscalls() noexcept { return kList; }

}  // namespace guardian::session
