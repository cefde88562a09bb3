-- Users who opted in to the newsletter, identified in Braze by their email alias.
select user_id, email
from read_csv('data/users.csv')
where newsletter
