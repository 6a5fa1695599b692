"""PeoplePerHour: the `window.PPHReact.initialState=` JSON embedded in `/freelance-jobs?page=N`."""
