/* ul_iter.c - walking every contact of every table (ul_foreach_contact,
 * see ul.h), for nathelper's NAT keepalives. */
#include "modules/usrloc/ul_int.h"

int ul_foreach_contact(unsigned mask, unsigned part, unsigned nparts,
		       ul_walk_fn fn, void *arg)
{
	int nd = ul_n_domains(), n = 0;
	time_t now = ul_now();
	unsigned step = nparts > 1 ? nparts : 1, first = nparts > 1 ? part : 0;

	for (int i = 0; i < nd; i++) {
		ul_domain_t *d = ul_domain_at(i);

		for (unsigned k = first; k < d->size; k += step) {
			ul_slot_t *s = &d->slots[k];

			pthread_mutex_lock(&s->lock);
			for (ul_record_t *r = s->first; r; r = r->next)
				for (ul_contact_t *c = r->contacts; c;
				     c = c->next) {
					if (!ul_contact_valid(c, now) ||
					    (mask && !(c->cflags & mask)))
						continue;
					fn(d, r, c, arg);
					n++;
				}
			pthread_mutex_unlock(&s->lock);
		}
	}
	return n;
}
