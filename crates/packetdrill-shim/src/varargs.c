/*
 * The variadic entries of packetdrill's interface, `fcntl` and `ioctl`: stable Rust can call a
 * C variadic function but cannot define one. Each takes its optional argument off the list,
 * for the commands known to pass one, and calls a fixed-argument Rust function (ffi.rs), which
 * does the work and sets errno.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/ioctl.h>

int tcpstk_shim_fcntl_fixed(void *userdata, int fd, int cmd, int arg);
int tcpstk_shim_ioctl_fixed(void *userdata, int fd, unsigned long request, int *arg);

/* fcntl(fd, cmd, ...): F_SETFL takes an int. The socket layer answers every other command but
 * F_GETFL (no argument) with EINVAL, so their arguments are not read: they get 0. */
int tcpstk_shim_fcntl(void *userdata, int fd, int cmd, ...)
{
	int arg = 0;
	va_list ap;

	if (cmd == F_SETFL) {
		va_start(ap, cmd);
		arg = va_arg(ap, int);
		va_end(ap);
	}
	return tcpstk_shim_fcntl_fixed(userdata, fd, cmd, arg);
}

/* ioctl(fd, request, ...): FIONBIO takes an int pointer (as with the C library's ioctl, the
 * caller must pass it). The shim answers every other request with ENOSYS without reading an
 * argument: they get NULL. */
int tcpstk_shim_ioctl(void *userdata, int fd, unsigned long request, ...)
{
	int *arg = NULL;
	va_list ap;

	if (request == FIONBIO) {
		va_start(ap, request);
		arg = va_arg(ap, int *);
		va_end(ap);
	}
	return tcpstk_shim_ioctl_fixed(userdata, fd, request, arg);
}
