/* libFuzzer driver: the INI configuration reader (src/config/config.c):
 * any file is either loaded or refused with a message, never a crash. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rollcall/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
no_env(const char *name)
{
	(void)name;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct rc_config cfg;
	char err[512];
	int fd;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/rollcall-fuzz-config-%d.conf",
		    (int)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	err[0] = '\0';
	if (rc_config_load_env(&cfg, path, no_env, err, sizeof(err)) != RC_OK &&
	    err[0] == '\0')
		abort();	/* a refusal always says why */
	rc_config_cleanup(&cfg);
	return 0;
}
