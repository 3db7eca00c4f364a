#include "tun/tun.h"
